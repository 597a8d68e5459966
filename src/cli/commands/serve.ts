import type { Command } from "commander";
import type { Config } from "../../config/config-schema.js";
import { startServer, type RunningServer } from "../../main.js";
import { describeStoreUrl } from "../../storage/store-url.js";
import type { CommandKit, StoreOptions } from "../command-kit.js";
import { DEMO_IDP, DemoStoreRefused, prepareDemo, type DemoAppsSeed } from "../seed-demo.js";

interface ServeOptions extends StoreOptions {
  port?: string;
  host?: string;
  demo?: boolean;
  demoPlatformPort?: string;
  demoIdpPort?: string;
}

/** `serve`: the HTTP server, and with `--demo` the demo beside it. */
export function registerServeCommand(program: Command, kit: CommandKit): void {
  const { io, out, configFrom, dbOption, configOption, openOrFail } = kit;

  program
    .command("serve")
    .description("Run the HTTP server (admin API, decision API)")
    .addOption(dbOption())
    .option("--port <n>", "port to listen on (env TENANT_MFA_PORT; default 8080)")
    .option("--host <host>", "address to listen on (env TENANT_MFA_HOST; default 127.0.0.1)")
    .addOption(configOption())
    .option(
      "--demo",
      "seed the demo data (idempotent; only an empty store or one the demo made) and start the demo platform and the development IdP beside the server",
    )
    .option("--demo-platform-port <n>", "with --demo: the demo platform's port (default 8081)")
    .option("--demo-idp-port <n>", "with --demo: the development IdP's port (default 8082)")
    .action(async (options: ServeOptions) => {
      const config = configFrom(
        options,
        { port: options.port, host: options.host },
        { serving: true },
      );
      if (config === undefined) return;
      if (options.demo === true) {
        await serveDemo(kit, options, config);
        return;
      }
      const running = await openOrFail(() => startServer(config, { env: io.env }));
      if (running === undefined) return;
      out(`tenant-mfa listening on ${running.url} (store ${describeStoreUrl(config.db)})`);
      io.onServing?.(running);
    });
}

/**
 * `serve --demo`: the server under its public URL (`http://localhost:PORT` unless one is
 * configured: a WebAuthn RP id is never an IP address, and `localhost` is a secure context),
 * seeded, then the demo platform and the development IdP beside it. Closing the server closes
 * them; the demo modules and `oidc-provider` are loaded only here. A store that the demo did not
 * make is refused before anything is seeded in it (exit code 1).
 */
async function serveDemo(kit: CommandKit, options: ServeOptions, loaded: Config): Promise<void> {
  const { io, out, fail, configFrom, openOrFail } = kit;
  let config = loaded;
  if (config.publicUrl === undefined) {
    const publicUrl = `http://localhost:${String(config.port)}`;
    const withUrl = configFrom(
      options,
      { port: options.port, host: options.host, publicUrl },
      { serving: true },
    );
    if (withUrl === undefined) return;
    config = withUrl;
  }
  const platformPort = portOption(options.demoPlatformPort, DEMO_PLATFORM_PORT_DEFAULT);
  const idpPort = portOption(options.demoIdpPort, DEMO_IDP_PORT_DEFAULT);
  if (platformPort === undefined || idpPort === undefined) {
    fail("--demo-platform-port and --demo-idp-port take a port number (1-65535)", 2);
    return;
  }
  const demo = await import("../../demo/start-demo.js");
  let plan: Awaited<ReturnType<typeof demo.planDemo>>;
  try {
    plan = await demo.planDemo({
      publicUrl: config.publicUrl ?? "",
      platformPort,
      idpPort,
      idp: DEMO_IDP,
    });
  } catch (error) {
    if (!(error instanceof demo.DemoDependencyMissing)) throw error;
    fail(error.message);
    return;
  }
  let seeded: DemoAppsSeed | undefined;
  let running: RunningServer | undefined;
  try {
    // A store holding secrets sealed with keys it is not given is refused as `serve` refuses
    // it (exit code 2), before anything is seeded in it.
    running = await openOrFail(() =>
      startServer(config, {
        env: io.env,
        allowLoopbackHttpIdps: true,
        seed: async (opened) => {
          seeded = (await prepareDemo(opened, out, new Date(), plan.apps)).apps;
        },
      }),
    );
  } catch (error) {
    if (!(error instanceof DemoStoreRefused)) throw error;
    fail(`serve --demo refuses the store ${describeStoreUrl(config.db)}: ${error.message}`);
    return;
  }
  if (running === undefined) return;
  let apps: Awaited<ReturnType<typeof plan.start>>;
  try {
    if (seeded === undefined) throw new Error("the demo apps were not registered");
    apps = await plan.start({ apiUrl: running.url, platformKey: seeded.platformKey });
  } catch (error) {
    await running.close();
    fail(
      `the demo apps could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
    return;
  }
  out(`tenant-mfa listening on ${running.url} (store ${describeStoreUrl(config.db)})`);
  out("");
  out("The demo is ready. Open the demo platform and sign in as one of its people:");
  out(`  demo platform      ${apps.platformUrl}   <- start here`);
  out(`  development IdP    ${apps.idpUrl}   (Initech's IdP; any password)`);
  out(`  tenant-mfa         ${config.publicUrl ?? running.url}   (its API, hosted pages and JWKS)`);
  let closing: Promise<void> | undefined;
  io.onServing?.({
    ...running,
    close: () => {
      closing ??= apps.close().then(() => running.close());
      return closing;
    },
  });
}

const DEMO_PLATFORM_PORT_DEFAULT = 8081;
const DEMO_IDP_PORT_DEFAULT = 8082;

/** A port given on the command line, the default when absent, undefined when not a port. */
function portOption(value: string | undefined, fallback: number): number | undefined {
  if (value === undefined) return fallback;
  const port = Number(value);
  return /^\d+$/.test(value) && port >= 1 && port <= 65535 ? port : undefined;
}
