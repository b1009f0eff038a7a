// Copy buttons: <button data-copy="ID" data-copied-text="Copied"> copies the text of the
// element with that id. Delegated from the document, so buttons htmx swaps in work too.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP pages have no Clipboard API: select the text and use the old command.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "absolute";
      area.style.left = "-9999px";
      document.body.appendChild(area);
      area.select();
      var copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (error) {
        copied = false;
      }
      document.body.removeChild(area);
      if (copied) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var source = document.getElementById(button.dataset.copy);
    if (!source) {
      return;
    }
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    copyText(source.textContent.trim()).then(
      function () {
        button.textContent = button.dataset.copiedText || "Copied";
      },
      function () {
        button.textContent = "Select and copy it by hand";
      }
    );
  });
})();
