// Dashboard glue: the tiles arrive over server-sent events (HTMX SSE extension,
// sse-connect on #live-tiles). When the stream drops, an HTMX poller
// (hx-trigger="every 5s") takes over until the stream is open again.
(function () {
  var live = document.getElementById("live-tiles");
  if (!live) { return; }
  var status = document.getElementById("live-status");
  var poller = null;
  function say(text, mode) {
    if (status) { status.textContent = text; status.setAttribute("data-mode", mode); }
  }
  function startPolling() {
    if (poller) { return; }
    var every = live.getAttribute("data-poll-seconds") || "5";
    poller = document.createElement("div");
    poller.id = "tiles-poller";
    poller.hidden = true;
    poller.setAttribute("hx-get", live.getAttribute("data-poll-url"));
    poller.setAttribute("hx-trigger", "every " + every + "s");
    poller.setAttribute("hx-target", "#tiles");
    poller.setAttribute("hx-swap", "innerHTML");
    live.parentNode.insertBefore(poller, live.nextSibling);
    htmx.process(poller);
    say("Stream interrupted: refreshing every " + every + " s", "polling");
  }
  function stopPolling() {
    if (poller) { poller.remove(); poller = null; }  // a removed element stops polling
    say("Live", "live");
  }
  live.addEventListener("htmx:sseOpen", stopPolling);
  live.addEventListener("htmx:sseError", startPolling);
})();
