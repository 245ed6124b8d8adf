/*
 * NHS careers chat widget: a small, dependency-free client for Rasa's socket.io channel.
 *
 * Embed with one script tag; its data- attributes are the configuration:
 *
 *   <script src="https://ASSISTANT-HOST/widget/careers-chat.js" defer
 *           data-server-url="https://RASA-HOST"
 *           data-title="NHS careers assistant"
 *           data-opening-message="Hello, ask me about radiography support roles."></script>
 *
 * It loads its stylesheet and socket.io-client from beside itself. Every message, the bot's or
 * the user's, is put on the page as text (textContent / text nodes); the only elements built from
 * a message are links, and only for http(s) URLs: URLs in the text, and the answer's sources
 * (`sources: [{title, url}]` on the bot message), shown as "Source: <page title>" links. The conversation (session id and transcript)
 * is kept in sessionStorage, so a reload continues it; data-storage="local" keeps it across tabs.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var html = document.documentElement;
  if (!script || html.hasAttribute("data-careers-chat-loaded")) {
    return; // one widget per page, even if the tag is there twice
  }
  html.setAttribute("data-careers-chat-loaded", "");
  var data = script.dataset;
  var config = {
    serverUrl: data.serverUrl || "",
    socketPath: data.socketPath || "/socket.io/",
    title: data.title || "NHS careers assistant",
    openingMessage: data.openingMessage || "",
    launcherText: data.launcherText || "Ask the careers assistant",
    userEvent: "user_uttered",
    botEvent: "bot_uttered",
  };
  var assetBase = new URL(".", script.src).href;
  var storageKey = "careers-chat:" + config.serverUrl;
  var MAX_MESSAGES = 200;
  var TYPING_TIMEOUT_MS = 30000;
  var URL_PATTERN = /https?:\/\/[^\s<>"']+/g;
  var TRAILING_PUNCTUATION = /[.,;:!?)\]]+$/;

  var storage = pickStorage(data.storage);
  var state = loadState();
  var socket = null;
  var confirmed = false;
  var outbox = [];
  var typingTimer = null;
  var answerStart = null; // the first reply to the user's latest message

  /* ---------- storage ---------- */

  function pickStorage(kind) {
    try {
      var store = kind === "local" ? window.localStorage : window.sessionStorage;
      var probe = storageKey + ":probe";
      store.setItem(probe, "1");
      store.removeItem(probe);
      return store;
    } catch (error) {
      return null; // storage blocked: the conversation just does not survive a reload
    }
  }

  function loadState() {
    var empty = { sessionId: null, open: false, messages: [] };
    if (!storage) {
      return empty;
    }
    try {
      var saved = JSON.parse(storage.getItem(storageKey) || "null");
      if (!saved || !Array.isArray(saved.messages)) {
        return empty;
      }
      return {
        sessionId: typeof saved.sessionId === "string" ? saved.sessionId : null,
        open: saved.open === true,
        messages: saved.messages.filter(isMessage).map(cleanMessage),
      };
    } catch (error) {
      return empty;
    }
  }

  function saveState() {
    if (!storage) {
      return;
    }
    state.messages = state.messages.slice(-MAX_MESSAGES);
    try {
      storage.setItem(storageKey, JSON.stringify(state));
    } catch (error) {
      /* storage full: keep going without saving */
    }
  }

  function isMessage(message) {
    return (
      message &&
      (message.from === "user" || message.from === "bot") &&
      typeof message.text === "string"
    );
  }

  function cleanMessage(message) {
    return {
      from: message.from,
      text: message.text,
      buttons: cleanButtons(message.buttons),
      sources: cleanSources(message.sources),
    };
  }

  // Sources with an http(s) URL only (a javascript: or data: URL is never made a link).
  function cleanSources(sources) {
    if (!Array.isArray(sources)) {
      return [];
    }
    return sources
      .filter(function (source) {
        return source && typeof source.url === "string" && webUrl(source.url) !== null;
      })
      .map(function (source) {
        var title = typeof source.title === "string" ? source.title.trim() : "";
        return { title: title || source.url, url: webUrl(source.url) };
      });
  }

  function cleanButtons(buttons) {
    if (!Array.isArray(buttons)) {
      return [];
    }
    return buttons
      .filter(function (button) {
        return button && button.title != null && button.payload != null;
      })
      .map(function (button) {
        return { title: String(button.title), payload: String(button.payload) };
      });
  }

  /* ---------- building the widget ---------- */

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text != null) {
      node.textContent = text;
    }
    return node;
  }

  var root = el("div", { class: "ccw", "data-careers-chat": "" });
  var launcher = el("button", {
    type: "button",
    class: "ccw-launcher",
    "aria-expanded": "false",
    "aria-controls": "careers-chat-panel",
  });
  launcher.appendChild(chatIcon());
  launcher.appendChild(el("span", {}, config.launcherText));

  var panel = el("section", {
    id: "careers-chat-panel",
    class: "ccw-panel",
    role: "dialog",
    "aria-modal": "false",
    "aria-labelledby": "careers-chat-title",
  });
  panel.hidden = true;
  var header = el("div", { class: "ccw-header" });
  header.appendChild(el("h2", { id: "careers-chat-title", class: "ccw-title" }, config.title));
  var closeButton = el("button", { type: "button", class: "ccw-close" });
  closeButton.appendChild(el("span", { "aria-hidden": "true" }, "\u00d7"));
  closeButton.appendChild(el("span", { class: "ccw-visually-hidden" }, "Close the chat"));
  header.appendChild(closeButton);

  var log = el("div", {
    class: "ccw-log",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-label": "Conversation",
    tabindex: "0",
  });
  // The two status regions stay in the page, empty when idle, so that screen readers announce
  // the text put in them (a live region shown at the moment it changes is often not read).
  var typing = el("div", { class: "ccw-typing", role: "status" });
  var dots = el("span", { class: "ccw-dots", "aria-hidden": "true" });
  dots.appendChild(el("span"));
  dots.appendChild(el("span"));
  dots.appendChild(el("span"));
  typing.appendChild(dots);
  var typingText = el("span", { class: "ccw-visually-hidden" });
  typing.appendChild(typingText);
  var status = el("p", { class: "ccw-status", role: "status" });

  var form = el("form", { class: "ccw-form", novalidate: "" });
  var label = el("label", { for: "careers-chat-input", class: "ccw-visually-hidden" });
  label.textContent = "Your question";
  var input = el("input", {
    id: "careers-chat-input",
    class: "ccw-input",
    type: "text",
    autocomplete: "off",
    maxlength: "1000",
    enterkeyhint: "send",
    placeholder: "Type your question",
  });
  var sendButton = el("button", { type: "submit", class: "ccw-send" }, "Send");
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendButton);

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(status);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);

  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "ccw-icon");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute(
      "d",
      "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"
    );
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  /* ---------- rendering messages (text only) ---------- */

  function appendWithLinks(parent, text) {
    var last = 0;
    text.replace(URL_PATTERN, function (match, offset) {
      var candidate = match.replace(TRAILING_PUNCTUATION, "");
      var link = safeLink(candidate);
      if (link) {
        parent.appendChild(document.createTextNode(text.slice(last, offset)));
        parent.appendChild(link);
        last = offset + candidate.length;
      }
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // The absolute http(s) URL `candidate` names, or null.
  function webUrl(candidate) {
    var url;
    try {
      url = new URL(candidate);
    } catch (error) {
      return null;
    }
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  }

  function safeLink(candidate, text) {
    var href = webUrl(candidate);
    if (href === null) {
      return null;
    }
    var link = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" });
    link.appendChild(document.createTextNode(text == null ? candidate : text));
    link.appendChild(el("span", { class: "ccw-visually-hidden" }, " (opens in a new tab)"));
    return link;
  }

  // After the text, in the same bubble: "Source: <page title>" (or "Sources:" and one per
  // line), each title a link to its page.
  function appendSources(parent, text, sources) {
    var block = el("span", { class: "ccw-sources" });
    block.appendChild(document.createTextNode(text ? "\n\n" : ""));
    block.appendChild(document.createTextNode(sources.length === 1 ? "Source: " : "Sources:"));
    sources.forEach(function (source) {
      if (sources.length > 1) {
        block.appendChild(document.createTextNode("\n- "));
      }
      block.appendChild(safeLink(source.url, source.title));
    });
    parent.appendChild(block);
  }

  function renderMessage(message, withButtons) {
    var item = el("div", { class: "ccw-message ccw-message--" + message.from });
    item.appendChild(
      el("span", { class: "ccw-visually-hidden" }, message.from === "user" ? "You: " : "Assistant: ")
    );
    var body = el("p", { class: "ccw-text" });
    if (message.from === "bot") {
      appendWithLinks(body, message.text);
    } else {
      body.textContent = message.text;
    }
    if (message.from === "bot" && message.sources.length) {
      appendSources(body, message.text, message.sources);
    }
    item.appendChild(body);
    log.appendChild(item);
    if (withButtons && message.buttons.length) {
      log.appendChild(renderButtons(message.buttons));
    }
    return item;
  }

  // Show the newest messages, but never scroll the start of a long answer out of view.
  function scrollToLatest() {
    var bottom = log.scrollHeight - log.clientHeight;
    var start = answerStart ? answerStart.offsetTop - log.offsetTop - 8 : bottom;
    log.scrollTop = Math.max(0, Math.min(bottom, start));
  }

  function renderButtons(buttons) {
    var group = el("div", { class: "ccw-replies", role: "group", "aria-label": "Suggested replies" });
    buttons.forEach(function (button) {
      var choice = el("button", { type: "button", class: "ccw-reply" }, button.title);
      choice.addEventListener("click", function () {
        send(button.title, button.payload);
        input.focus();
      });
      group.appendChild(choice);
    });
    return group;
  }

  function removeButtons() {
    Array.prototype.forEach.call(log.querySelectorAll(".ccw-replies"), function (group) {
      group.remove();
    });
  }

  function addMessage(message) {
    var clean = cleanMessage(message);
    state.messages.push(clean);
    saveState();
    var item = renderMessage(clean, true);
    if (clean.from === "user") {
      answerStart = null;
    } else if (!answerStart) {
      answerStart = item;
    }
    scrollToLatest();
  }

  function restoreTranscript() {
    var lastUser = -1;
    state.messages.forEach(function (message, index) {
      if (message.from === "user") {
        lastUser = index;
      }
    });
    state.messages.forEach(function (message, index) {
      renderMessage(message, index > lastUser);
    });
  }

  /* ---------- typing indicator and connection status ---------- */

  function showTyping() {
    typingText.textContent = "The assistant is typing";
    typing.classList.add("ccw-typing--active");
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typing.classList.remove("ccw-typing--active");
    typingText.textContent = "";
  }

  function setStatus(text) {
    if (status.textContent !== text) {
      status.textContent = text;
    }
  }

  /* ---------- talking to Rasa ---------- */

  function loadSocketIo() {
    if (typeof window.io === "function") {
      return Promise.resolve(window.io);
    }
    return new Promise(function (resolve, reject) {
      var tag = el("script", { src: assetBase + "socket.io.min.js" });
      tag.addEventListener("load", function () {
        resolve(window.io);
      });
      tag.addEventListener("error", reject);
      document.head.appendChild(tag);
    });
  }

  function connect() {
    if (socket) {
      return;
    }
    socket = {}; // connecting
    setStatus("Connecting to the assistant\u2026");
    loadSocketIo()
      .then(function (io) {
        socket = io(config.serverUrl, { path: config.socketPath });
        socket.on("connect", function () {
          socket.emit("session_request", { session_id: state.sessionId });
        });
        socket.on("session_confirm", function (sessionId) {
          var id = sessionId && typeof sessionId === "object" ? sessionId.session_id : sessionId;
          if (typeof id === "string" && id) {
            state.sessionId = id;
            saveState();
          }
          confirmed = true;
          setStatus("");
          flush();
        });
        socket.on(config.botEvent, receive);
        socket.on("disconnect", function () {
          confirmed = false;
          setStatus("Connection lost. Reconnecting\u2026");
        });
        socket.on("connect_error", function () {
          confirmed = false;
          setStatus("Can't reach the assistant right now. Trying again\u2026");
        });
      })
      .catch(function () {
        socket = null;
        setStatus("The chat could not be loaded. Please try again later.");
      });
  }

  function flush() {
    while (confirmed && outbox.length) {
      socket.emit(config.userEvent, { message: outbox.shift(), session_id: state.sessionId });
    }
  }

  function send(text, payload) {
    var shown = String(text).trim();
    if (!shown) {
      return;
    }
    removeButtons();
    addMessage({ from: "user", text: shown });
    outbox.push(payload == null ? shown : String(payload));
    showTyping();
    connect();
    flush();
  }

  function receive(message) {
    hideTyping();
    if (!message || typeof message !== "object") {
      return;
    }
    var text = typeof message.text === "string" ? message.text : "";
    var buttons = cleanButtons(message.quick_replies || message.buttons);
    var sources = cleanSources(message.sources);
    if (!text && !buttons.length && !sources.length) {
      return;
    }
    addMessage({ from: "bot", text: text, buttons: buttons, sources: sources });
  }

  /* ---------- opening, closing, keyboard ---------- */

  function open(focus) {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    if (!state.messages.length && config.openingMessage) {
      addMessage({ from: "bot", text: config.openingMessage });
    }
    saveState();
    connect();
    scrollToLatest();
    if (focus) {
      input.focus();
    }
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    saveState();
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    open(true);
  });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    send(text);
    input.focus();
  });

  function start() {
    var link = el("link", { rel: "stylesheet", href: assetBase + "careers-chat.css" });
    document.head.appendChild(link);
    restoreTranscript(); // before the widget is in the page, so it is not read out again
    document.body.appendChild(root);
    if (state.open) {
      open(false);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
