/* Hangar's small script: progressive enhancements only; every page works without it.
   Loaded as a file (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";

  // Destructive actions: enable the button once the expected name is typed (the server
  // checks again).
  function watchConfirmations(root) {
    root.querySelectorAll("input[data-confirm-name]").forEach(function (input) {
      var form = input.form;
      var button = form && form.querySelector("button[type=submit].btn-danger");
      if (!button || input.dataset.watched) { return; }
      input.dataset.watched = "1";
      var update = function () { button.disabled = input.value !== input.dataset.confirmName; };
      input.addEventListener("input", update);
      update();
    });
  }

  // Followed logs stay scrolled to their newest line.
  function scrollLogs(root) {
    root.querySelectorAll("[data-scroll-end]").forEach(function (element) {
      element.scrollTop = element.scrollHeight;
    });
  }

  // Copy buttons for tokens and secrets shown once.
  function copyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (button.dataset.watched) { return; }
      button.dataset.watched = "1";
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        if (source && navigator.clipboard) {
          navigator.clipboard.writeText(source.textContent.trim()).then(function () {
            button.textContent = "Copied";
          });
        }
      });
    });
  }

  // Forms that stop or change something running ask once before they submit.
  function confirmForms(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      if (form.dataset.watched) { return; }
      form.dataset.watched = "1";
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  }

  function enhance(root) {
    watchConfirmations(root);
    confirmForms(root);
    scrollLogs(root);
    copyButtons(root);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });
  document.addEventListener("htmx:oobAfterSwap", function (event) { enhance(event.target); });
})();
