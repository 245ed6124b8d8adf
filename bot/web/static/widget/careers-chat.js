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
 *
 * Before the first message a short notice says that this is an automated assistant, how long
 * conversations are kept (read from privacy.json beside this script: the server's setting, not
 * the host page's) and who reads them, with a link to the privacy notice. The person's own
 * controls: "Download this conversation" (a plain-text file made here, of what they see),
 * "Delete this conversation" (erased on the server, then cleared here) and "New conversation".
 * Nothing is requested from any host but the widget's and the Rasa server.
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
  var privacyJson = new URL("privacy.json", assetBase).href;
  var storageKey = "careers-chat:" + config.serverUrl;
  var MAX_MESSAGES = 200;
  var TYPING_TIMEOUT_MS = 30000;
  var DELETE_TIMEOUT_MS = 20000;
  var URL_PATTERN = /https?:\/\/[^\s<>"']+/g;
  var TRAILING_PUNCTUATION = /[.,;:!?)\]]+$/;

  var storage = pickStorage(data.storage);
  var state = loadState();
  var socket = null;
  var confirmed = false;
  var outbox = [];
  var typingTimer = null;
  var answerStart = null; // the first reply to the user's latest message
  var whenConfirmed = []; // what waits for the server to confirm the session
  var privacy = { retentionDays: null, url: new URL("/privacy", assetBase).href };

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

  // The person's own controls over this conversation.
  var tools = el("div", { class: "ccw-tools", role: "group", "aria-label": "This conversation" });
  var downloadButton = toolButton("Download", " this conversation");
  var deleteButton = toolButton("Delete", " this conversation");
  var newButton = toolButton("New", " conversation");
  var privacyLink = el("a", { class: "ccw-tool-link", href: privacy.url, target: "_blank", rel: "noopener noreferrer" });
  privacyLink.appendChild(document.createTextNode("Privacy"));
  privacyLink.appendChild(el("span", { class: "ccw-visually-hidden" }, " notice (opens in a new tab)"));
  tools.appendChild(downloadButton);
  tools.appendChild(deleteButton);
  tools.appendChild(newButton);
  tools.appendChild(privacyLink);

  // "Are you sure?", in the panel (a browser dialog would hide the conversation).
  var confirmBox = el("div", {
    class: "ccw-confirm",
    role: "group",
    "aria-labelledby": "careers-chat-confirm-text",
  });
  confirmBox.hidden = true;
  var confirmText = el(
    "p",
    { id: "careers-chat-confirm-text", class: "ccw-confirm-text", tabindex: "-1" },
    "Delete this conversation? It will be erased from the careers team's records and from " +
      "this browser, and it can't be undone."
  );
  var confirmYes = el("button", { type: "button", class: "ccw-confirm-yes" }, "Yes, delete it");
  var confirmNo = el("button", { type: "button", class: "ccw-confirm-no" }, "No, keep it");
  confirmBox.appendChild(confirmText);
  confirmBox.appendChild(confirmYes);
  confirmBox.appendChild(confirmNo);

  // Shown until the person's first message (and read out as the dialog's description).
  var notice = el("div", { class: "ccw-notice", id: "careers-chat-notice" });
  var noticeText = el("p", { class: "ccw-notice-text" });
  notice.appendChild(noticeText);

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
  panel.appendChild(tools);
  panel.appendChild(confirmBox);
  panel.appendChild(notice);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(status);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);

  function toolButton(shown, rest) {
    var button = el("button", { type: "button", class: "ccw-tool" }, shown);
    button.appendChild(el("span", { class: "ccw-visually-hidden" }, rest));
    return button;
  }

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

  /* ---------- the notice, and what the server says about privacy ---------- */

  function renderNotice() {
    var kept =
      privacy.retentionDays === null
        ? "for a limited time"
        : "for " + privacy.retentionDays + " day" + (privacy.retentionDays === 1 ? "" : "s");
    noticeText.textContent =
      "You're chatting with an automated assistant, not a person. Conversations are kept " +
      kept +
      " and read by the careers team to improve it. Please don't share personal details. ";
    var link = el("a", { href: privacy.url, target: "_blank", rel: "noopener noreferrer" });
    link.appendChild(document.createTextNode("Privacy notice"));
    link.appendChild(el("span", { class: "ccw-visually-hidden" }, " (opens in a new tab)"));
    noticeText.appendChild(link);
    privacyLink.href = privacy.url;
  }

  function showNotice() {
    var shown = !state.messages.some(function (message) {
      return message.from === "user";
    });
    notice.hidden = !shown;
    if (shown) {
      panel.setAttribute("aria-describedby", "careers-chat-notice");
    } else {
      panel.removeAttribute("aria-describedby");
    }
  }

  function loadPrivacy() {
    if (typeof window.fetch !== "function") {
      return;
    }
    window
      .fetch(privacyJson, { credentials: "omit" })
      .then(function (answer) {
        return answer.ok ? answer.json() : null;
      })
      .then(function (found) {
        if (!found || typeof found !== "object") {
          return;
        }
        var days = found.retention_days;
        if (typeof days === "number" && days >= 1 && Math.floor(days) === days) {
          privacy.retentionDays = days;
        }
        var url = typeof found.privacy_url === "string" ? webUrl(new URL(found.privacy_url, assetBase).href) : null;
        if (url) {
          privacy.url = url;
        }
        renderNotice();
      })
      .catch(function () {
        /* the notice keeps its general wording */
      });
  }

  /* ---------- the person's controls: download, delete, start again ---------- */

  function transcriptText() {
    var stamp = new Date().toISOString().slice(0, 16).replace("T", " ");
    var lines = [config.title + ": your conversation", "Downloaded " + stamp + " UTC", ""];
    state.messages.forEach(function (message) {
      lines.push((message.from === "user" ? "You: " : "Assistant: ") + message.text);
      message.sources.forEach(function (source) {
        lines.push("Source: " + source.title + " (" + source.url + ")");
      });
      if (message.buttons.length) {
        lines.push(
          "Suggested replies: " +
            message.buttons
              .map(function (button) {
                return button.title;
              })
              .join(" | ")
        );
      }
      lines.push("");
    });
    return lines.join("\n");
  }

  function download() {
    var file = new Blob([transcriptText()], { type: "text/plain;charset=utf-8" });
    var url = URL.createObjectURL(file);
    var link = el("a", { href: url, download: "careers-assistant-conversation.txt" });
    link.hidden = true;
    root.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 10000);
    setStatus("Downloaded this conversation as a text file.");
  }

  function askToDelete() {
    confirmBox.hidden = false;
    confirmText.focus();
  }

  function cancelDelete() {
    confirmBox.hidden = true;
    deleteButton.focus();
  }

  // Ask the server to erase the conversation; resolves once it has (at once when nothing of it
  // ever reached the server).
  function eraseOnServer() {
    if (!state.sessionId) {
      return Promise.resolve();
    }
    var sessionId = state.sessionId;
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        reject(new Error("no answer"));
      }, DELETE_TIMEOUT_MS);
      connect();
      afterConfirm(function () {
        socket.once("conversation_deleted", function () {
          clearTimeout(timer);
          resolve();
        });
        socket.once("conversation_not_deleted", function () {
          clearTimeout(timer);
          reject(new Error("refused"));
        });
        socket.emit("delete_conversation", { session_id: sessionId });
      });
    });
  }

  function deleteConversation() {
    confirmYes.disabled = true;
    setStatus("Deleting this conversation\u2026");
    eraseOnServer()
      .then(function () {
        startAfresh("This conversation has been deleted. You can start a new one.");
      })
      .catch(function () {
        setStatus("The conversation could not be deleted right now. Please try again.");
      })
      .then(function () {
        confirmYes.disabled = false;
        confirmBox.hidden = true;
        input.focus();
      });
  }

  // A new, empty conversation with a new session id; the browser keeps nothing of the last one.
  function startAfresh(message) {
    state = { sessionId: null, open: true, messages: [] };
    if (storage) {
      storage.removeItem(storageKey);
    }
    outbox = [];
    whenConfirmed = [];
    answerStart = null;
    hideTyping();
    while (log.firstChild) {
      log.removeChild(log.firstChild);
    }
    if (config.openingMessage) {
      addMessage({ from: "bot", text: config.openingMessage });
    }
    saveState();
    showNotice();
    if (socket && typeof socket.emit === "function" && confirmed) {
      confirmed = false;
      socket.emit("session_request", { session_id: null });
    }
    setStatus(message);
  }

  function newConversation() {
    var kept =
      privacy.retentionDays === null ? "for a limited time" : "for " + privacy.retentionDays + " days";
    startAfresh(
      "You've started a new conversation. The last one is kept " + kept + " unless you delete it."
    );
    input.focus();
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
          if (/^Connecting|^Connection lost|^Can't reach/.test(status.textContent)) {
            setStatus("");
          }
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
    while (confirmed && whenConfirmed.length) {
      whenConfirmed.shift()();
    }
    while (confirmed && outbox.length) {
      socket.emit(config.userEvent, { message: outbox.shift(), session_id: state.sessionId });
    }
  }

  function afterConfirm(task) {
    whenConfirmed.push(task);
    flush();
  }

  function send(text, payload) {
    var shown = String(text).trim();
    if (!shown) {
      return;
    }
    removeButtons();
    addMessage({ from: "user", text: shown });
    showNotice();
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
  downloadButton.addEventListener("click", download);
  deleteButton.addEventListener("click", askToDelete);
  newButton.addEventListener("click", newConversation);
  confirmYes.addEventListener("click", deleteConversation);
  confirmNo.addEventListener("click", cancelDelete);
  confirmBox.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // closes the question, not the chat
      cancelDelete();
    }
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
    renderNotice();
    showNotice();
    loadPrivacy();
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
