// The persistent-compute WebSocket: subscribes every panel, answers pings, reconnects with
// backoff after the server goes away, and on `shutdownNotice` opens a standby connection so
// updates continue through a restart without reloading the page.
"use strict";

class SightlineConnection {
  /**
   * @param {object} hooks onStatus(state, text), onCreation(panelId, creation),
   *   onUpdate(panelId, update), onAuthNeeded()
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.socket = null;
    this.standby = null;
    this.wanted = new Map(); // panelId → StreamingComputeNodeSubscription
    this.subIds = new Map(); // subscriptionId → panelId, for the current socket
    this.backoff = 500;
    this.timer = null;
    this.draining = false;
    this.reconnects = 0;
    setInterval(() => this.keepAlive(), 15000);
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/persistent-compute/ws`;
  }

  static uuid() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  start() {
    this.open(false);
  }

  /** Opens a socket; a standby one replaces the current socket once it is live. */
  open(asStandby) {
    let socket;
    try {
      socket = new WebSocket(this.url());
    } catch (e) {
      this.retry();
      return;
    }
    const ids = new Map();
    socket.onopen = () => {
      if (asStandby) {
        const old = this.socket;
        this.standby = null;
        this.adopt(socket, ids);
        if (old) old.close(1000, "switched to a new connection");
      } else {
        this.adopt(socket, ids);
      }
    };
    socket.onmessage = (ev) => this.receive(socket, ids, ev.data);
    socket.onclose = () => {
      if (socket === this.standby) {
        this.standby = null;
        return;
      }
      if (socket !== this.socket) return;
      this.socket = null;
      this.hooks.onStatus("reconnecting", this.draining ? "server restarting…" : "reconnecting…");
      // While draining, the standby loop is already trying every second.
      if (!this.draining) this.retry();
    };
    socket.onerror = () => {};
    if (asStandby) this.standby = socket; else this.socket = socket;
  }

  adopt(socket, ids) {
    this.socket = socket;
    this.subIds = ids;
    this.backoff = 500;
    this.draining = false;
    this.reconnects += 1;
    this.hooks.onStatus("live", "live");
    for (const [panelId, sub] of this.wanted) this.send(panelId, sub);
  }

  retry() {
    clearTimeout(this.timer);
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 5000);
    this.timer = setTimeout(async () => {
      // A refused upgrade hides its status from scripts: ask over HTTP whether a token is
      // needed before trying the socket again.
      try {
        const r = await fetch("/sightline/v1/datasets", { credentials: "same-origin" });
        if (r.status === 401) {
          this.hooks.onAuthNeeded();
          return;
        }
      } catch (e) {
        // The server is down: try again later.
        this.retry();
        return;
      }
      this.open(false);
    }, delay);
  }

  /** Subscribes a panel (replacing its previous subscription). */
  subscribe(panelId, subscription) {
    this.unsubscribe(panelId);
    this.wanted.set(panelId, subscription);
    this.send(panelId, subscription);
  }

  send(panelId, subscription) {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const id = SightlineConnection.uuid();
    this.subIds.set(id, panelId);
    socket.send(JSON.stringify({ type: "subscribe", subscribe: { [id]: subscription } }));
  }

  unsubscribe(panelId) {
    this.wanted.delete(panelId);
    const ids = [...this.subIds].filter(([, p]) => p === panelId).map(([id]) => id);
    for (const id of ids) this.subIds.delete(id);
    if (ids.length && this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "unsubscribe", unsubscribe: ids }));
    }
  }

  keepAlive() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "ping", ping: { sentAt: new Date().toISOString() } }));
    }
  }

  receive(socket, ids, text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      return;
    }
    if (msg.type === "health") {
      const h = msg.health;
      if (h.type === "ping") {
        socket.send(JSON.stringify({
          type: "pong",
          pong: { pingOriginallySentAt: h.ping.sentAt, sentAt: new Date().toISOString() },
        }));
      } else if (h.type === "shutdownNotice" && socket === this.socket) {
        this.draining = true;
        this.hooks.onStatus("draining", "server shutting down…");
        this.tryStandby();
      }
      return;
    }
    // Messages of a socket being replaced are ignored once the new one is live.
    if (socket !== this.socket) return;
    if (msg.type === "subscriptionCreation") {
      const c = msg.subscriptionCreation;
      const panelId = ids.get(c.subscriptionId);
      if (panelId !== undefined) this.hooks.onCreation(panelId, c.creation);
    } else if (msg.type === "subscriptionUpdate") {
      const u = msg.subscriptionUpdate;
      const panelId = ids.get(u.subscriptionId);
      if (panelId !== undefined) this.hooks.onUpdate(panelId, u.update);
    }
  }

  /** While the old server drains, keep trying a second connection (another instance or the
   * restarted server); the first that opens takes over. */
  tryStandby() {
    if (!this.draining || this.standby) return;
    this.open(true);
    setTimeout(() => this.tryStandby(), 1000);
  }
}
