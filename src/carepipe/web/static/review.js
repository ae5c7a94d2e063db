// Clinician review page (/console/reviews/{id}): the audio player and the transcript,
// evidence playback and keyboard shortcuts. Served as a static file: the console's CSP
// allows no inline script. Every form on the page works without this file.
(function () {
  "use strict";
  var root = document.getElementById("review");
  if (!root) { return; }
  var audio = document.getElementById("review-audio");
  var transcript = document.getElementById("transcript");
  var speed = document.getElementById("playback-rate");
  var nowPlaying = document.getElementById("now-playing");
  var words = [];      // [{start, end, el}] in time order
  var current = null;  // the highlighted word's element
  var stopAt = null;   // end of an evidence span being played, in seconds

  if (transcript) {
    transcript.querySelectorAll("[data-start]").forEach(function (el) {
      words.push({
        start: parseFloat(el.getAttribute("data-start")),
        end: parseFloat(el.getAttribute("data-end")),
        el: el
      });
    });
    words.sort(function (a, b) { return a.start - b.start; });
  }

  // The last word starting at or before t (binary search: 2,000 words, 4 updates a second).
  function wordAt(t) {
    var lo = 0, hi = words.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (words[mid].start <= t + 0.01) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    // Between two words (a pause) the previous one stays lit until the next starts.
    return found < 0 ? null : words[found];
  }

  function highlight(t) {
    var w = wordAt(t);
    var el = w ? w.el : null;
    if (el === current) { return; }
    if (current) { current.classList.remove("playing"); current.removeAttribute("aria-current"); }
    current = el;
    if (el) {
      el.classList.add("playing");
      el.setAttribute("aria-current", "true");
      var box = transcript.getBoundingClientRect();
      var r = el.getBoundingClientRect();
      if (r.top < box.top || r.bottom > box.bottom) {
        transcript.scrollTop += r.top - box.top - box.height / 3;
      }
    }
  }

  function playFrom(start, end) {
    if (!audio) { return; }
    stopAt = typeof end === "number" && !isNaN(end) ? end : null;
    audio.currentTime = start;
    highlight(start);
    var p = audio.play();
    if (p && p.catch) { p.catch(function () { /* autoplay refused: the position is set */ }); }
  }

  if (audio) {
    audio.addEventListener("timeupdate", function () {
      highlight(audio.currentTime);
      if (stopAt !== null && audio.currentTime >= stopAt) {
        stopAt = null;
        audio.pause();
      }
      if (nowPlaying) { nowPlaying.textContent = audio.currentTime.toFixed(1) + " s"; }
    });
    audio.addEventListener("seeked", function () { highlight(audio.currentTime); });
  }

  if (speed && audio) {
    var apply = function () { audio.playbackRate = parseFloat(speed.value) || 1; };
    speed.addEventListener("change", apply);
    audio.addEventListener("loadedmetadata", apply);
    apply();
  }

  // Click a word: play from it. (Keyboard users play an item's evidence with its button;
  // 2,000 focusable words would make the page impossible to tab through.)
  if (transcript) {
    transcript.addEventListener("click", function (ev) {
      var el = ev.target.closest ? ev.target.closest("[data-start]") : null;
      if (!el || !transcript.contains(el)) { return; }
      playFrom(parseFloat(el.getAttribute("data-start")));
    });
  }

  // "Play" beside a note item: its evidence span, then stop.
  root.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button[data-play-start]") : null;
    if (!btn) { return; }
    ev.preventDefault();
    playFrom(parseFloat(btn.getAttribute("data-play-start")),
             parseFloat(btn.getAttribute("data-play-end")));
  });

  // -- keyboard shortcuts: j/k next/previous flagged item, a accept, r reject, A approve --
  var flagged = Array.prototype.slice.call(root.querySelectorAll(".item[data-flagged='true']"));
  var focusIndex = -1;

  function select(i) {
    if (!flagged.length) { return; }
    focusIndex = (i + flagged.length) % flagged.length;
    flagged.forEach(function (el) { el.classList.remove("selected"); });
    var item = flagged[focusIndex];
    item.classList.add("selected");
    item.scrollIntoView({ block: "center" });
    item.focus({ preventScroll: true });
  }

  function selectedItem() {
    if (focusIndex >= 0) { return flagged[focusIndex]; }
    var active = document.activeElement;
    return active && active.closest ? active.closest(".item") : null;
  }

  function press(el) {
    if (el && !el.disabled) { el.click(); }
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    var item;
    if (ev.key === "j") { select(focusIndex + 1); }
    else if (ev.key === "k") { select(focusIndex < 0 ? flagged.length - 1 : focusIndex - 1); }
    else if (ev.key === "a" && !ev.shiftKey) {
      item = selectedItem();
      if (!item) { return; }
      press(item.querySelector("button[name='decision'][value='accept']"));
    } else if (ev.key === "r" && !ev.shiftKey) {
      item = selectedItem();
      if (!item) { return; }
      press(item.querySelector("button[name='decision'][value='reject']"));
    } else if (ev.key === "A" && ev.shiftKey) {
      press(document.getElementById("approve-button"));
    } else { return; }
    ev.preventDefault();
  });

  // After a decision the page reloads at the item decided (#item-...): keep its place
  // in the j/k order, so the next "j" goes on from there.
  if (location.hash) {
    var at = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    var i = flagged.indexOf(at);
    if (i >= 0) { focusIndex = i; at.classList.add("selected"); }
  }
})();
