// Small progressive enhancements; every page works without them.
document.addEventListener("change", function (ev) {
  var box = ev.target;
  if (box && box.matches && box.matches("input[data-select-all]")) {
    var scope = document.querySelectorAll(box.getAttribute("data-select-all"));
    scope.forEach(function (b) { b.checked = box.checked; });
  }
});
