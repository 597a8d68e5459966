/**
 * The WebAuthn glue of the hosted flow pages, served as `/flow-assets/flow.<hash>.js` after
 * `@simplewebauthn/browser`'s bundle. Kept as a string module so that `tsc` builds it into
 * `dist/`; the browser tests run it for real under the page's CSP.
 *
 * A form marked `data-webauthn-form` is hidden in the HTML (it can do nothing without script);
 * this script shows it, and on submit: POSTs `{ purpose }` to `FLOW_URL/webauthn/options` with
 * the form's CSRF token as `x-csrf-token`, runs the ceremony with the options it gets, puts the
 * ceremony id and `JSON.stringify(result)` into the form's hidden fields and submits it. A
 * failure is shown in the page's alert region, in the words the page gave it (data attributes
 * from the message catalogue), never the browser's English error text. Words the page's
 * catalogue lacked come in English with `data-lang-NAME="en"`: the element showing them says so
 * in its `lang` (and `dir="ltr"` on a right-to-left page), for screen readers.
 *
 * @module
 */
export const FLOW_JS = `(function () {
  "use strict";
  var main = document.querySelector("main[data-flow-url]");
  if (!main) return;
  var flowUrl = main.getAttribute("data-flow-url");
  var alertRegion = document.getElementById("flow-alert");
  var lib = window.SimpleWebAuthnBrowser;
  var forms = document.querySelectorAll("form[data-webauthn-form]");
  if (forms.length === 0) return;

  // Shows the page's words called name in element, in their language.
  function show(element, name) {
    element.textContent = main.getAttribute("data-msg-" + name) || "";
    var lang = main.getAttribute("data-lang-" + name);
    if (lang) {
      element.setAttribute("lang", lang);
      if (document.documentElement.getAttribute("dir") === "rtl") element.setAttribute("dir", "ltr");
    } else {
      element.removeAttribute("lang");
      element.removeAttribute("dir");
    }
  }

  function say(name) {
    if (alertRegion) show(alertRegion, name);
  }

  function clear() {
    if (!alertRegion) return;
    alertRegion.textContent = "";
    alertRegion.removeAttribute("lang");
    alertRegion.removeAttribute("dir");
  }

  if (!lib || !lib.browserSupportsWebAuthn()) {
    say("unsupported");
    return;
  }

  // What makes each form usable again, and whether a ceremony was started on this page.
  var resets = [];
  var started = false;

  Array.prototype.forEach.call(forms, function (form) {
    var button = form.querySelector("button[data-webauthn]");
    if (!button) return;
    var purpose = button.getAttribute("data-webauthn");
    // The label's nodes, with any element marking its language, to put back after a ceremony.
    var label = Array.prototype.slice.call(button.cloneNode(true).childNodes);
    var busy = false;
    form.hidden = false;

    function done() {
      busy = false;
      button.disabled = false;
      button.removeAttribute("lang");
      button.removeAttribute("dir");
      button.replaceChildren.apply(button, label);
    }

    resets.push(function () {
      done();
      form.querySelector("input[name=ceremony]").value = "";
      form.querySelector("input[name=response]").value = "";
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) return;
      busy = true;
      started = true;
      button.disabled = true;
      if (main.hasAttribute("data-msg-busy")) show(button, "busy");
      clear();
      var csrf = form.querySelector("input[name=csrf]").value;
      fetch(flowUrl + "/webauthn/options", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify({ purpose: purpose })
      })
        .then(function (response) {
          if (!response.ok) throw new Error("options " + response.status);
          return response.json();
        })
        .then(
          function (answer) {
            var run = purpose === "registration" ? lib.startRegistration : lib.startAuthentication;
            return run({ optionsJSON: answer.options }).then(
              function (result) {
                form.querySelector("input[name=ceremony]").value = answer.ceremony;
                form.querySelector("input[name=response]").value = JSON.stringify(result);
                form.submit();
              },
              function (error) {
                done();
                var name = error && (error.name || (error.cause && error.cause.name));
                say(name === "NotAllowedError" || name === "AbortError" ? "cancelled" : "failed");
              }
            );
          },
          function () {
            done();
            say("start-failed");
          }
        );
    });
  });

  // A page restored from the back/forward cache is as it was left: after a ceremony, its button
  // busy and disabled and its form holding a used answer, so nothing on it works. Browsers keep
  // no page sent with Cache-Control: no-store there today, but may (Chrome has trialled it): a
  // restored page (pageshow with persisted) is made usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted || !started) return;
    started = false;
    clear();
    resets.forEach(function (reset) {
      reset();
    });
  });
})();
`;
