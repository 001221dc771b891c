// The only script: "all on this page" ticks every row's checkbox. The page works without it.
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", function () {
    document.querySelectorAll('#queue input[name="id"]').forEach(function (box) { box.checked = all.checked; });
  });
});
