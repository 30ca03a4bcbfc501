// The chat widget's browser side: the ES module that anywidget loads for neochat.widget.ChatView (see nbs/07_chat_widget.ipynb).

// 1. Rules: when the pane keeps following new text, and what Enter does.
export const FOLLOW_SLACK = 40; // px: this close to the bottom, the pane keeps following new text

export function nearBottom(scrollTop, scrollHeight, clientHeight) {
  return scrollHeight - scrollTop - clientHeight <= FOLLOW_SLACK;
}

// What a key pressed in the input box does: "send" (Enter), "newline" (Shift+Enter: the browser adds it), or null.
export function keyAction(e) {
  if (e.key !== "Enter" || e.isComposing || e.keyCode === 229) return null; // 229: an IME is composing
  return e.shiftKey ? "newline" : "send";
}

export const KEY_EVENTS = ["keydown", "keypress", "keyup"]; // all kept from the notebook (see render)

export const BUTTONS = [["stop", "Stop", "stop the reply, keeping what was said"],
  ["retry", "Retry", "a new reply to your last message"], ["undo", "Undo", "remove your last message and its reply"],
  ["continue", "Continue", "extend the last reply"], ["clear", "Clear", "start a new conversation and empty the box"]];

// 2. One message: the label as text, the body as the HTML that Python made safe.
function h(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text != null) n.textContent = text;
  return n;
}

function messageNode(m) {
  const node = h("div", `neochat-msg neochat-msg-${m.role}`), text = h("div", "neochat-text");
  text.innerHTML = m.html; // made safe in Python (message_item): no raw HTML, no images
  node.append(h("div", "neochat-role", m.label), text);
  return node;
}

// 3. render: the pane, input box, buttons and status line, redrawn from the model; keys pressed in the chat stay the chat's.
function render({ model, el }) {
  el.classList.add("neochat-view");
  const pane = h("div", "neochat-chat"), list = h("div", "neochat-messages"), status = h("div", "neochat-status");
  const compose = h("div", "neochat-compose"), input = h("textarea", "neochat-input"), row = h("div", "neochat-buttons");
  const buttons = { send: h("button", "neochat-button neochat-send", "Send") };
  buttons.send.title = "send the message (Enter)";
  for (const [action, label, tip] of BUTTONS) {
    const b = (buttons[action] = h("button", `neochat-button neochat-${action}`, label));
    b.title = tip;
    b.addEventListener("click", () => model.send({ event: "click", action }));
    row.append(b);
  }
  input.rows = 2;
  input.placeholder = "Message neochat: Enter sends, Shift+Enter adds a line";
  pane.setAttribute("role", "log");
  pane.append(list); compose.append(input, buttons.send); el.append(pane, compose, row, status);

  // The pane follows new text while it is scrolled to the bottom; scrolled up to read, it stays put. (A scroll is
  // reported a frame later: text arriving in between sees the pane above where the chat last put it, and stays put.)
  let follow = true, pendingNode = null, stuckAt = 0;
  const atBottom = () => nearBottom(pane.scrollTop, pane.scrollHeight, pane.clientHeight);
  pane.addEventListener("scroll", () => { follow = atBottom(); });
  const stick = () => {
    if (pane.scrollTop < stuckAt - 1) follow = atBottom();
    if (follow) { pane.scrollTop = pane.scrollHeight; stuckAt = pane.scrollTop; }
  };
  function draw() {
    const p = model.get("pending"), nodes = model.get("messages").map(messageNode);
    pendingNode = p && p.role ? messageNode(p) : null;
    if (pendingNode) nodes.push(pendingNode);
    if (!nodes.length) nodes.push(h("div", "neochat-hint", model.get("hint")));
    list.replaceChildren(...nodes); stick();
  }
  function drawPending() {
    const p = model.get("pending");
    if (pendingNode && p && p.role) { pendingNode.lastChild.innerHTML = p.html; stick(); } else draw();
  }
  function drawControls() {
    const on = new Set(model.get("enabled"));
    for (const [action, b] of Object.entries(buttons)) b.disabled = !on.has(action);
    buttons.stop.hidden = !model.get("show_stop");
    status.textContent = model.get("status");
  }

  // The text travels inside the "send" message, so it cannot race the box's own (throttled) sync of `draft`.
  const autosize = () => { input.style.height = "auto"; input.style.height = Math.min(input.scrollHeight + 2, 200) + "px"; };
  const sync = () => { model.set("draft", input.value); model.save_changes(); autosize(); };
  function submit() {
    if (!input.value.trim() || model.get("busy")) return;
    model.send({ event: "send", text: input.value });
    input.value = ""; sync(); follow = true; stuckAt = 0; // (your message: the pane follows again)
  }
  // Python changes the box by message ("fill"): put a failed or undone message back, or empty the box (Clear).
  const onMessage = (msg) => { if (msg && "fill" in msg && (msg.always || !input.value.trim())) { input.value = msg.fill; sync(); } };
  input.addEventListener("input", sync);
  // Keys pressed in the chat are the chat's, never the notebook's shortcuts (Shift+Enter or Ctrl+Enter running this
  // cell again, Escape, A, B, D D). Stopping them at the box is too late for Notebook 7, which reads keys on `document`
  // in the capture phase, before the box gets them; lumino (the shortcuts of Notebook 7 and JupyterLab) ignores keys
  // from inside an element marked `data-lm-suppress-shortcuts`. Every listener above the chat in the bubbling phase
  // (JupyterLab's shortcuts, the notebook's own, other frontends') is cut off by the chat's root, which stops the keys
  // on their way in (the capture phase); so the box's Enter is handled there too.
  const ownKeys = (e) => {
    e.stopPropagation();
    if (e.type === "keydown" && e.target === input && keyAction(e) === "send") { e.preventDefault(); submit(); }
  };
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  for (const type of KEY_EVENTS) el.addEventListener(type, ownKeys, true);
  buttons.send.addEventListener("click", submit);

  const handlers = [["change:messages change:hint", draw], ["change:pending", drawPending], ["msg:custom", onMessage],
    ["change:enabled change:show_stop change:status change:busy", drawControls]];
  for (const [events, f] of handlers) for (const ev of events.split(" ")) model.on(ev, f);
  input.value = model.get("draft"); draw(); drawControls();
  return () => {
    for (const [events, f] of handlers) for (const ev of events.split(" ")) model.off(ev, f);
    for (const type of KEY_EVENTS) el.removeEventListener(type, ownKeys, true);
  };
}

export default { render };
