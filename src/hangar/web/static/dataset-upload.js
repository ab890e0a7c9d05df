// Upload progress for htmx forms marked data-progress="<id of a <progress> element>".
// A static file because the console's CSP forbids inline scripts and hx-on.
document.addEventListener("htmx:xhr:progress", function (event) {
  var source = event.target;
  var form = source && source.closest ? source.closest("[data-progress]") : null;
  if (!form || !event.detail || !event.detail.lengthComputable) {
    return;
  }
  var bar = document.getElementById(form.getAttribute("data-progress"));
  if (!bar) {
    return;
  }
  bar.hidden = false;
  bar.max = event.detail.total;
  bar.value = event.detail.loaded;
});
