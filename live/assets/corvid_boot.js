// corvid's page boot: connect the pinned phoenix_live_view client (globals from the two .min.js files
// loaded before this script) to the server's LiveView socket at /live, sending the page's CSRF token.
(function () {
  "use strict";
  var meta = document.querySelector("meta[name='csrf-token']");
  var csrfToken = meta ? meta.getAttribute("content") : null;
  // An application's hooks and external uploaders: set window.corvidHooks / window.corvidUploaders
  // before this (deferred) script runs, e.g. in an inline script of page_options::head_html.
  // Networks that break websockets: after this many ms without one, the client long-polls instead
  // (and keeps doing so for this tab). The server leaves the meta out when it serves no long-poll.
  var fallback = document.querySelector("meta[name='corvid-longpoll-fallback-ms']");
  var options = {
    params: { _csrf_token: csrfToken },
    hooks: window.corvidHooks || {},
    // external uploads (upload_options::external): the uploader each entry's meta names
    uploaders: window.corvidUploaders || {},
  };
  if (fallback) options.longPollFallbackMs = parseInt(fallback.getAttribute("content"), 10);
  var liveSocket = new LiveView.LiveSocket("/live", Phoenix.Socket, options);

  // A view the server ended with words for the user (phx_error {"message": ...}, e.g. a change over
  // the server's size limit) would otherwise only flash the error state while the client rejoins: the
  // words stay in #corvid-error until clicked away.
  window.addEventListener("phx:page-loading-start", function (e) {
    var d = e.detail || {};
    var err = d.unstructuredError;
    if (d.kind !== "error" || !err || typeof err.message !== "string" || !err.message) return;
    var box = document.getElementById("corvid-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "corvid-error";
      box.setAttribute("role", "alert");
      box.title = "click to close";
      box.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:2147483647;padding:.6rem 1rem;" +
        "background:#b00020;color:#fff;font:15px/1.4 system-ui,sans-serif;cursor:pointer";
      box.addEventListener("click", function () { box.remove(); });
      document.body.appendChild(box);
    }
    box.textContent = err.message;
  });

  liveSocket.connect();
  window.liveSocket = liveSocket;  // for debugging: liveSocket.enableDebug()
})();
