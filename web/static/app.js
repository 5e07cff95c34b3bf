// Script is here: the phone's header may fold its menu behind one button (app.css, .js).
document.documentElement.classList.add("js");

// Every htmx request carries the session's CSRF token as a header (plain forms send a hidden field).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
});

// 打印 links print the page (a bulletin's print stylesheet lays it out on A4). A button that
// cannot be undone (签发) asks first, in its own words.
document.addEventListener("click", function (event) {
  if (!event.target.closest) { return; }
  if (event.target.closest(".print-page")) {
    event.preventDefault();
    window.print();
  }
  var asking = event.target.closest("[data-confirm]");
  if (asking && !window.confirm(asking.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});

// Feedback where the user is looking (#11). The pages draw what became of a form next to it;
// an error the server could only address to the page's message area (#messages: no right,
// an expired page, a crash) is put at the head of the form that was sent instead.
document.addEventListener("htmx:beforeSwap", function (event) {
  var detail = event.detail;
  var source = (detail.requestConfig && detail.requestConfig.elt) || event.target;
  var form = source.closest && source.closest("form");
  if (!detail.isError || !form || !detail.target || detail.target.id !== "messages") { return; }
  form.querySelectorAll(":scope > .error[role=alert]").forEach(function (old) { old.remove(); });
  detail.target = form;
  detail.swapOverride = "afterbegin";
});

// Once swapped in, the message is brought into view if it is not, moving the page no more
// than needed (htmx tells of each element it swapped in).
var SAID = "[data-feedback], .error[role=alert]";
document.addEventListener("htmx:afterSettle", function (event) {
  var elt = event.detail.elt;
  if (!elt || !elt.isConnected || !elt.matches) { return; }
  var said = elt.matches(SAID) ? elt : elt.querySelector(SAID);
  if (!said) { return; }
  var box = said.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) {
    said.scrollIntoView({block: "nearest"});
  }
});

// Pickers of 85 units or 88 people (#15): a <select data-search> gets a box above it that keeps
// only the options whose name holds what is typed (the groups are towns); a person picker
// <select data-narrow-by="lead_unit_id"> shows only the people of the unit chosen in that
// field of its form. Without script both are plain lists.
function searchable(select) {
  if (select.dataset.searchReady) { return; }
  select.dataset.searchReady = "1";
  var box = document.createElement("input");
  box.type = "search";
  box.className = "picker-search";
  box.placeholder = "输入名称查找";
  box.setAttribute("aria-label", "查找");
  select.parentNode.insertBefore(box, select);
  box.addEventListener("input", function () {
    var typed = box.value.trim();
    select.querySelectorAll("option").forEach(function (option) {
      option.hidden = typed !== "" && option.value !== "" && option.text.indexOf(typed) < 0;
    });
    select.querySelectorAll("optgroup").forEach(function (group) {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
  });
}

function narrowed(select) {
  var form = select.form;
  var by = form && form.elements[select.dataset.narrowBy];
  if (!by || select.dataset.narrowReady) { return; }
  select.dataset.narrowReady = "1";
  function narrow() {
    select.querySelectorAll("option").forEach(function (option) {
      option.hidden = by.value !== "" && option.value !== "" && !option.selected &&
        option.dataset.unit !== by.value;
    });
  }
  by.addEventListener("change", narrow);
  narrow();
}

// Filters that fold away on a phone stand open on a wider screen.
function openWhenWide(details) {
  if (window.matchMedia("(min-width: 701px)").matches) { details.open = true; }
}

function enhance(root) {
  root.querySelectorAll("select[data-search]").forEach(searchable);
  root.querySelectorAll("select[data-narrow-by]").forEach(narrowed);
  root.querySelectorAll("details[data-open-wide]").forEach(openWhenWide);
}
// A table wider than a phone scrolls inside the page: let the keyboard reach it and scroll it too.
function focusableScrolling(root) {
  root.querySelectorAll(".table-wrap, .bulletin table.plain").forEach(function (box) {
    if (box.scrollWidth > box.clientWidth && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      if (box.tagName !== "TABLE") { box.setAttribute("role", "region"); }   // a table stays one
      box.setAttribute("aria-label", "表格（可左右滑动）");
    }
  });
}
document.addEventListener("DOMContentLoaded", function () { focusableScrolling(document); });
document.addEventListener("htmx:load", function (event) { focusableScrolling(event.target); });
document.addEventListener("DOMContentLoaded", function () { enhance(document); });
document.addEventListener("htmx:load", function (event) { enhance(event.target); });

// 菜单 on a phone opens and closes the header's links and the account's.
document.addEventListener("click", function (event) {
  var toggle = event.target.closest && event.target.closest(".menu-toggle");
  if (!toggle) { return; }
  var header = toggle.closest("header");
  var open = header.classList.toggle("menu-open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});
