// gripewatch dashboard: the suggested reply's Copy button (served from /static; no inline scripts).
document.addEventListener("click", function (ev) {
  var button = ev.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  var status = document.getElementById(button.getAttribute("data-copy") + "-status");
  var done = function (ok) { if (status) status.textContent = ok ? "Copied to the clipboard." : "Select the text and copy it."; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(source.value).then(function () { done(true); }, function () { source.select(); done(document.execCommand("copy")); });
  } else {
    source.select();
    done(document.execCommand("copy"));
  }
});
