import { describe, expect, it } from "vitest";
import { describeStoreUrl, storeUrlHasPassword } from "./store-url.js";

// A store URL goes into messages (`listening on … (store …)`, a store that cannot be reached or
// holds no store): its user and place help the operator, its password must never be in them.
describe("describeStoreUrl", () => {
  it.each([
    ["sqlite:./data/tenant-mfa.db", "sqlite:./data/tenant-mfa.db"],
    ["postgres://db.internal/tenant_mfa", "postgres://db.internal/tenant_mfa"],
    ["postgres://app@db.internal:5433/tenant_mfa", "postgres://app@db.internal:5433/tenant_mfa"],
    [
      "postgres://app:S3cret-pw@db.internal:5433/tenant_mfa",
      "postgres://app:***@db.internal:5433/tenant_mfa",
    ],
    ["postgresql://app:S3cret-pw@db/tenant_mfa", "postgresql://app:***@db/tenant_mfa"],
    // A password in the query (pg reads `password` there too) goes with the query.
    [
      "postgres://app@db/tenant_mfa?sslmode=require&password=S3cret-pw",
      "postgres://app@db/tenant_mfa",
    ],
    ["postgres://app:S3cret%2Fpw@db/tenant_mfa", "postgres://app:***@db/tenant_mfa"],
  ])("describes %s as %s", (url, described) => {
    expect(describeStoreUrl(url)).toBe(described);
  });
});

describe("storeUrlHasPassword", () => {
  it.each([
    ["postgres://app:S3cret-pw@db/tenant_mfa", true],
    ["postgres://app@db/tenant_mfa?password=S3cret-pw", true],
    ["postgres://app@db/tenant_mfa?sslpassword=S3cret-pw", true],
    ["postgres://app:@db/tenant_mfa", false],
    ["postgres://app@db/tenant_mfa?sslmode=require", false],
    ["sqlite:./data/tenant-mfa.db", false],
    ["sqlite:./pass:word@x.db", false],
  ])("%s: %s", (url, expected) => {
    expect(storeUrlHasPassword(url)).toBe(expected);
  });
});
