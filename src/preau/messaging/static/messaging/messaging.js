/* Messaging pages (messaging/_layout.html). Every page works without this script; it adds:
   - forms with data-confirm ask before they submit (empty the trash, delete a folder or a draft);
   - the mailbox's "select all" box for the bulk actions;
   - the recipient picker: each recipient list (a <select multiple> that the form submits) gets a combobox (WAI-ARIA
     1.2 pattern: a text input with a listbox of suggestions from data-suggest-url) and the chosen recipients as
     removable chips; the <select> stays the form's value, hidden;
   - live inbox: on the document event "preau:message.new" (dispatched by realtime/realtime.js), the inbox list
     fetches the rows newer than the newest shown (data-live-url, data-newest), inserts them at the top and
     announces them politely; a message withdrawn by its sender or by staff ("preau:message.withdrawn") leaves the
     list;
   - "more": the link to older messages appends the next page's rows in place (the link still works without it). */
(function () {
  "use strict";

  /* --- confirmations ------------------------------------------------------------------------------------------ */

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  /* --- select all ----------------------------------------------------------------------------------------------- */

  function setUpSelectAll(bulk) {
    var toolbar = bulk.querySelector(".mail__toolbar");
    var list = bulk.querySelector(".mail-list") || document.querySelector("[data-mail-list]");
    if (!toolbar || !list) {
      return;
    }
    var wrapper = document.createElement("span");
    wrapper.className = "mail__select-all checkbox";
    var box = document.createElement("input");
    box.type = "checkbox";
    box.id = "select-all";
    var label = document.createElement("label");
    label.htmlFor = "select-all";
    label.textContent = bulk.getAttribute("data-select-all-label") || "Tout sélectionner";
    wrapper.appendChild(box);
    wrapper.appendChild(label);
    toolbar.insertBefore(wrapper, toolbar.firstChild);
    function boxes() {
      return list.querySelectorAll("input[name=ids]");
    }
    box.addEventListener("change", function () {
      boxes().forEach(function (item) { item.checked = box.checked; });
    });
    list.addEventListener("change", function (event) {
      if (event.target.name !== "ids") {
        return;
      }
      var all = boxes();
      var checked = 0;
      all.forEach(function (item) { if (item.checked) { checked += 1; } });
      box.checked = all.length > 0 && checked === all.length;
      box.indeterminate = checked > 0 && checked < all.length;
    });
  }

  document.querySelectorAll("[data-bulk]").forEach(setUpSelectAll);

  /* --- the recipient picker ----------------------------------------------------------------------------------- */

  var comboboxCount = 0;

  function Picker(fieldset, container, status) {
    this.fieldset = fieldset;
    this.container = container;
    this.select = container.querySelector("select");
    this.url = fieldset.getAttribute("data-suggest-url");
    this.status = status;
    this.results = [];
    this.active = -1;
    this.timer = null;
    this.controller = null;
    this.build();
  }

  Picker.prototype.build = function () {
    var self = this;
    var n = ++comboboxCount;
    var label = this.container.querySelector("label[for='" + this.select.id + "']");
    var labelText = label ? label.textContent.trim() : "";

    this.chips = document.createElement("ul");
    this.chips.className = "chips";
    this.chips.setAttribute("aria-label", this.fieldset.getAttribute("data-chosen-label").replace("{list}", labelText));

    var wrap = document.createElement("div");
    wrap.className = "combobox";
    this.input = document.createElement("input");
    this.input.type = "text";
    this.input.id = "recipient-input-" + n;
    this.input.setAttribute("role", "combobox");
    this.input.setAttribute("aria-autocomplete", "list");
    this.input.setAttribute("aria-expanded", "false");
    this.input.setAttribute("autocomplete", "off");
    this.input.setAttribute("spellcheck", "false");
    this.input.setAttribute("aria-describedby", "recipients-js-help");
    this.listbox = document.createElement("ul");
    this.listbox.id = "recipient-listbox-" + n;
    this.listbox.className = "combobox__listbox";
    this.listbox.setAttribute("role", "listbox");
    this.listbox.setAttribute("aria-label", this.fieldset.getAttribute("data-suggestions-label").replace("{list}", labelText));
    this.listbox.hidden = true;
    this.input.setAttribute("aria-controls", this.listbox.id);
    wrap.appendChild(this.input);
    wrap.appendChild(this.listbox);

    if (label) {
      label.htmlFor = this.input.id;
    }
    this.select.hidden = true;
    this.select.removeAttribute("aria-describedby");
    this.select.setAttribute("tabindex", "-1");
    this.select.parentNode.insertBefore(this.chips, this.select);
    this.select.parentNode.insertBefore(wrap, this.select);
    this.renderChips();

    this.input.addEventListener("input", function () { self.schedule(); });
    this.input.addEventListener("keydown", function (event) { self.onKey(event); });
    this.input.addEventListener("blur", function () {
      window.setTimeout(function () { self.close(); }, 150);
    });
    this.listbox.addEventListener("mousedown", function (event) {
      event.preventDefault();  // keep the focus in the input
    });
    this.listbox.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) {
        self.choose(parseInt(option.getAttribute("data-index"), 10));
      }
    });
  };

  Picker.prototype.chosen = function () {
    return Array.prototype.filter.call(this.select.options, function (option) { return option.selected; });
  };

  Picker.prototype.renderChips = function () {
    var self = this;
    this.chips.textContent = "";
    this.chosen().forEach(function (option) {
      var item = document.createElement("li");
      item.className = "chip";
      var text = document.createElement("span");
      text.textContent = option.textContent;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip__remove";
      remove.setAttribute("aria-label", self.fieldset.getAttribute("data-remove-label").replace("{name}", option.textContent));
      remove.textContent = "×";
      remove.addEventListener("click", function () {
        option.selected = false;
        self.renderChips();
        self.say(self.fieldset.getAttribute("data-removed-label").replace("{name}", option.textContent));
        self.input.focus();
      });
      item.appendChild(text);
      item.appendChild(remove);
      self.chips.appendChild(item);
    });
    this.chips.hidden = this.chips.children.length === 0;
  };

  Picker.prototype.say = function (text) {
    this.status.textContent = "";
    var status = this.status;
    window.setTimeout(function () { status.textContent = text; }, 50);
  };

  Picker.prototype.schedule = function () {
    var self = this;
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
    }
    this.timer = window.setTimeout(function () {
      self.timer = null;
      self.fetch();
    }, 200);
  };

  Picker.prototype.fetch = function () {
    var self = this;
    var term = this.input.value.trim();
    if (term.length < 2) {
      this.results = [];
      this.close();
      return;
    }
    if (this.controller) {
      this.controller.abort();
    }
    this.controller = window.AbortController ? new AbortController() : null;
    window.fetch(this.url + "?q=" + encodeURIComponent(term), {
      credentials: "same-origin",
      headers: {"Accept": "application/json"},
      signal: this.controller ? this.controller.signal : undefined
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (data) {
        if (self.input.value.trim() !== term) {
          return;
        }
        self.results = (data && data.results) || [];
        self.open();
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") {
          return;
        }
        self.results = [];
        self.close();
      });
  };

  Picker.prototype.label = function (result) {
    return result.group && result.count ? result.label + " (" + result.count + ")" : result.label;
  };

  Picker.prototype.open = function () {
    var self = this;
    this.listbox.textContent = "";
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
    if (!this.results.length) {
      this.close();
      this.say(this.fieldset.getAttribute("data-none-label"));
      return;
    }
    this.results.forEach(function (result, index) {
      var option = document.createElement("li");
      option.id = self.listbox.id + "-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.setAttribute("data-index", String(index));
      option.className = "combobox__option" + (result.group ? " combobox__option--group" : "");
      option.textContent = self.label(result);
      self.listbox.appendChild(option);
    });
    this.listbox.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    var count = this.results.length;
    this.say((count === 1 ? this.fieldset.getAttribute("data-one-label") :
      this.fieldset.getAttribute("data-many-label")).replace("{n}", String(count)));
  };

  Picker.prototype.close = function () {
    this.listbox.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.active = -1;
  };

  Picker.prototype.highlight = function (index) {
    var options = this.listbox.querySelectorAll("[role=option]");
    if (!options.length) {
      return;
    }
    index = (index + options.length) % options.length;
    options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    this.active = index;
    this.input.setAttribute("aria-activedescendant", options[index].id);
    options[index].scrollIntoView({block: "nearest"});
  };

  Picker.prototype.choose = function (index) {
    var result = this.results[index];
    if (!result) {
      return;
    }
    var option = Array.prototype.find.call(this.select.options, function (o) { return o.value === result.value; });
    if (!option) {
      option = document.createElement("option");
      option.value = result.value;
      option.textContent = this.label(result);
      this.select.appendChild(option);
    }
    option.selected = true;
    this.input.value = "";
    this.results = [];
    this.close();
    this.renderChips();
    this.say(this.fieldset.getAttribute("data-added-label").replace("{name}", option.textContent));
    this.input.focus();
  };

  Picker.prototype.onKey = function (event) {
    var openNow = !this.listbox.hidden;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!openNow && this.results.length) {
        this.open();
      }
      this.highlight(this.active + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      this.highlight(this.active - 1);
    } else if (event.key === "Enter") {
      event.preventDefault();  // never submit the message from the picker
      if (openNow && this.active >= 0) {
        this.choose(this.active);
      } else if (openNow && this.results.length === 1) {
        this.choose(0);
      }
    } else if (event.key === "Escape") {
      if (openNow) {
        event.preventDefault();
        this.close();
      } else {
        this.input.value = "";
      }
    } else if (event.key === "Backspace" && this.input.value === "") {
      var chosen = this.chosen();
      if (chosen.length) {
        var last = chosen[chosen.length - 1];
        last.selected = false;
        this.renderChips();
        this.say(this.fieldset.getAttribute("data-removed-label").replace("{name}", last.textContent));
      }
    }
  };

  function setUpRecipients(fieldset) {
    if (!window.fetch || !fieldset.getAttribute("data-suggest-url")) {
      return;
    }
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    fieldset.appendChild(status);
    fieldset.querySelectorAll("[data-recipient-field]").forEach(function (container) {
      new Picker(fieldset, container, status);
    });
    // The search without JavaScript (a submit button re-rendering the form) is not needed any more.
    var search = fieldset.querySelector("[data-nojs-search]");
    if (search) {
      search.hidden = true;
      search.querySelectorAll("input, button").forEach(function (control) { control.disabled = true; });
    }
    var noJsHelp = fieldset.querySelector("[data-nojs-help]");
    var jsHelp = fieldset.querySelector("#recipients-js-help");
    if (noJsHelp && jsHelp) {
      noJsHelp.hidden = true;
      jsHelp.hidden = false;
      jsHelp.classList.remove("visually-hidden");
    }
  }

  document.querySelectorAll("[data-recipients]").forEach(setUpRecipients);

  /* --- the live inbox ------------------------------------------------------------------------------------------- */

  var list = document.querySelector("[data-mail-list][data-live-url]");
  if (list && window.fetch) {
    var loading = false;
    var again = false;
    var announcer = document.querySelector("[data-live-announcer]");
    var empty = document.querySelector("[data-mail-empty]");

    var refresh = function () {
      if (loading) {
        again = true;
        return;
      }
      loading = true;
      again = false;
      var url = list.getAttribute("data-live-url") + "?depuis=" + encodeURIComponent(list.getAttribute("data-newest") || "");
      window.fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          var newest = response.headers.get("X-Newest");
          return response.text().then(function (html) { return {html: html, newest: newest}; });
        })
        .then(function (result) {
          insert(result.html, result.newest);
        })
        .catch(function () { /* the page keeps what it shows; the next event tries again */ })
        .then(function () {
          loading = false;
          if (again) {
            refresh();
          }
        });
    };

    var insert = function (html, newest) {
      var template = document.createElement("template");
      template.innerHTML = html;
      var rows = Array.prototype.filter.call(template.content.children, function (row) {
        return row.matches("li[data-id]") && !list.querySelector("li[data-id='" + row.getAttribute("data-id") + "']");
      });
      if (!rows.length) {
        return;
      }
      var texts = [];
      for (var i = rows.length - 1; i >= 0; i--) {
        list.insertBefore(rows[i], list.firstChild);
      }
      rows.forEach(function (row) {
        if (row.getAttribute("data-announce")) {
          texts.push(row.getAttribute("data-announce"));
        }
      });
      if (newest) {
        list.setAttribute("data-newest", newest);
      }
      if (empty) {
        empty.hidden = true;
      }
      if (announcer && texts.length) {
        announcer.textContent = texts.join(" ");
      }
    };

    document.addEventListener("preau:message.new", refresh);
    // A reconnected stream may have missed events: look once more.
    document.addEventListener("preau:realtime.ready", refresh);
    document.addEventListener("preau:message.withdrawn", function (event) {
      var id = event.detail && event.detail.id;
      var row = id ? list.querySelector("li[data-message-id='" + String(parseInt(id, 10)) + "']") : null;
      if (row) {
        row.parentNode.removeChild(row);
        if (empty && !list.querySelector("li[data-id]")) {
          empty.hidden = false;
        }
      }
    });
  }

  /* --- "more": older messages appended in place --------------------------------------------------------------- */

  function setUpMore(link) {
    var rows = document.querySelector(".mail-list");
    if (!rows || !window.fetch || !window.DOMParser) {
      return;
    }
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    link.parentNode.appendChild(status);
    link.addEventListener("click", function (event) {
      event.preventDefault();
      if (link.getAttribute("aria-busy") === "true") {
        return;
      }
      link.setAttribute("aria-busy", "true");
      window.fetch(link.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.text();
        })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var added = [];
          page.querySelectorAll(".mail-list > li[data-id]").forEach(function (row) {
            if (!rows.querySelector("li[data-id='" + row.getAttribute("data-id") + "']")) {
              var copy = document.importNode(row, true);
              rows.appendChild(copy);
              added.push(copy);
            }
          });
          var next = page.querySelector("[data-more]");
          if (next) {
            link.href = next.getAttribute("href");
            link.removeAttribute("aria-busy");
          } else {
            link.parentNode.removeChild(link);
          }
          status.textContent = (link.getAttribute("data-more-added") || "{n}").replace("{n}", String(added.length));
          if (added.length) {
            var first = added[0].querySelector("a");
            if (first) {
              first.focus();
            }
          }
        })
        .catch(function () {
          window.location.href = link.href;  // fall back to the plain page
        });
    });
  }

  document.querySelectorAll("[data-more]").forEach(setUpMore);
})();
