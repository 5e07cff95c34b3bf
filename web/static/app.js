// Every htmx request carries the session's CSRF token as a header (plain forms send a hidden field).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
});

// 打印 links print the page (a bulletin's print stylesheet lays it out on A4).
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest(".print-page")) {
    event.preventDefault();
    window.print();
  }
});
