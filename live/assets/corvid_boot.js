// corvid's page boot: connect the pinned phoenix_live_view client (globals from the two .min.js files
// loaded before this script) to the server's LiveView socket at /live, sending the page's CSRF token.
(function () {
  "use strict";
  var meta = document.querySelector("meta[name='csrf-token']");
  var csrfToken = meta ? meta.getAttribute("content") : null;
  var liveSocket = new LiveView.LiveSocket("/live", Phoenix.Socket, {
    params: { _csrf_token: csrfToken },
  });
  liveSocket.connect();
  window.liveSocket = liveSocket;  // for debugging: liveSocket.enableDebug()
})();
