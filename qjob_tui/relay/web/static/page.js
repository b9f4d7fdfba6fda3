// The relay's page: the websocket is on this page's own host, and the title follows the
// relay's health. textual.js (textual-serve's client) starts the terminal on load.
(function () {
  "use strict";
  var scheme = location.protocol === "https:" ? "wss:" : "ws:";
  document.addEventListener("DOMContentLoaded", function () {
    var terminal = document.getElementById("terminal");
    terminal.dataset.sessionWebsocketUrl = scheme + "//" + location.host + "/ws";
    // Keys go to the dashboard from the start, as in a terminal: focus the terminal's input
    // as soon as textual.js has made it, without waiting for a click.
    var watcher = new MutationObserver(function () {
      var input = terminal.querySelector("textarea");
      if (input) {
        watcher.disconnect();
        input.focus();
      }
    });
    watcher.observe(terminal, { childList: true, subtree: true });
  });
  function refreshTitle() {
    fetch("/web/status", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) { if (status && status.title) { document.title = status.title; } })
      .catch(function () { document.title = "qjob-tui relay: not answering"; });
  }
  setInterval(refreshTitle, 10000);
})();
