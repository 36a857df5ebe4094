// The CCS demo page: the device SDK (@ccs/client's browser bundle) on one conversation and one
// workspace's files, live. Open /demo?token=…&conversation=…&workspace=… or fill in the forms.
// Everything shown comes from a snapshot and the changes after it; writes go through the SDK's
// outbox (kept in IndexedDB), so what is sent offline goes out once the page is back online.
import { ClientError, IndexedDbOutboxStorage, createClient } from './ccs-client.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

let client;
let device;
let conversation; // { id, subscription }
let workspace; // { id, subscription }
/** Messages by id, from the snapshot and the changes since. */
const messages = new Map();
/** Sends not seen back as a change yet: client id → body. */
const unconfirmed = new Map();
/** Live files by id. */
const files = new Map();

const uuid = () =>
  crypto.randomUUID?.() ??
  '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16),
  );

function log(text) {
  const line = document.createElement('div');
  line.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('log').prepend(line);
  while ($('log').childElementCount > 8) $('log').lastElementChild.remove();
}

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== false) node.setAttribute(name, String(value));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The device token's claims (not verified here: the server does that). */
function claims(token) {
  const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  return { userId: payload.uid, deviceId: payload.sub };
}

/** Keeps the address bar shareable: the ids, never the token (kept for this tab only). */
function updateUrl() {
  const query = new URLSearchParams();
  if (conversation) query.set('conversation', conversation.id);
  if (workspace) query.set('workspace', workspace.id);
  history.replaceState(null, '', `${location.pathname}?${query}`);
}

async function showPending() {
  if (client) $('pending').textContent = String(await client.pendingWrites());
}

// ── sign in ──────────────────────────────────────────────────────────────────────────────────

async function signIn(token) {
  client?.close();
  conversation = workspace = undefined;
  try {
    device = claims(token);
  } catch {
    log('that is not a device token (a JWT)');
    return;
  }
  sessionStorage.setItem('ccs-demo-token', token);
  // One outbox per device: what this device wrote offline survives a reload of the page.
  client = createClient({
    url: location.origin,
    token,
    storage: new IndexedDbOutboxStorage(`ccs-outbox-${device.deviceId}`),
  });
  client.on('state', ({ state, reason, error }) => {
    $('state').textContent = state === 'connected' ? 'connected' : `${state} (${reason})`;
    $('state').dataset.state = state;
    if (error) log(`connection refused: ${error.message}`);
    void showPending();
  });
  client.on('written', () => void showPending());
  client.on('rejected', ({ item, error }) => {
    log(`${item.event} refused: ${error.message}`);
    void showPending();
  });
  $('whoami').textContent =
    `device ${device.deviceId.slice(0, 8)} of user ${device.userId.slice(0, 8)}`;
  $('token').value = token;
  $('conversation').disabled = $('workspace').disabled = false;
  messages.clear();
  files.clear();
  const query = new URLSearchParams(location.search);
  const [conversationId, workspaceId] = [query.get('conversation'), query.get('workspace')];
  await Promise.all([
    conversationId && openConversation(conversationId),
    workspaceId && openWorkspace(workspaceId),
  ]);
  updateUrl();
}

async function mintToken() {
  const user = $('mint-user').value.trim() || uuid();
  const response = await fetch('/v1/dev/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, device: uuid(), create: true }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`minting refused: ${body.message}`);
  $('mint-user').value = body.userId;
  await signIn(body.token);
}

// ── conversation ─────────────────────────────────────────────────────────────────────────────

function renderMessages() {
  const list = [...messages.values()].sort((a, b) => a.seq - b.seq);
  const items = list.map((message) => {
    const item = element('li', {
      'data-message-id': message.id,
      'data-seq': message.seq,
      'data-client-id': message.clientId,
      'data-deleted': message.deletedAt !== null,
    });
    const from =
      message.deviceId === device.deviceId ? 'this device' : message.deviceId.slice(0, 8);
    item.append(element('span', { class: 'body' }, message.body), ` — ${from}`);
    return item;
  });
  for (const [clientId, body] of unconfirmed) {
    const item = element('li', { 'data-client-id': clientId, 'data-pending': '' });
    item.append(element('span', { class: 'body' }, body), ' — pending');
    items.push(item);
  }
  $('messages').replaceChildren(...items);
  $('messages').lastElementChild?.scrollIntoView({ block: 'nearest' });
}

function applyMessage(change) {
  const message = change.data;
  if (change.kind === 'message.deleted') messages.delete(message.id);
  else messages.set(message.id, message);
  if (message.deviceId === device.deviceId) unconfirmed.delete(message.clientId);
}

async function openConversation(id) {
  await conversation?.subscription.close();
  conversation = undefined;
  messages.clear();
  unconfirmed.clear();
  const stream = `conversation:${id}`;
  try {
    const snapshot = await client.snapshot(stream, { messages: 50 });
    for (const message of snapshot.messages) messages.set(message.id, message);
    // From the snapshot's seq on: every later change exactly once, whatever the network does.
    const subscription = client.subscribe(stream, { since: snapshot.seq });
    subscription.on('change', (change) => {
      if (!change.kind.startsWith('message.')) return;
      applyMessage(change);
      renderMessages();
    });
    subscription.on('resync', ({ snapshot: fresh }) => {
      messages.clear();
      for (const message of fresh.messages) messages.set(message.id, message);
      renderMessages();
    });
    subscription.on('ended', ({ message }) => log(message));
    conversation = { id, subscription };
    $('conversation-id').textContent = id;
    $('conversation-input').value = id;
  } catch (error) {
    log(`cannot open conversation ${id}: ${error.message}`);
  }
  renderMessages();
  updateUrl();
}

function send(event) {
  event.preventDefault();
  const body = $('body').value.trim();
  if (!body || !conversation) return;
  $('body').value = '';
  const clientId = uuid();
  unconfirmed.set(clientId, body);
  renderMessages();
  // Kept in IndexedDB until the server acknowledges it; sent once (the client id makes a retry
  // after a lost ack write nothing new).
  client
    .write('message:send', { conversationId: conversation.id, clientId, body })
    .catch((error) => {
      unconfirmed.delete(clientId);
      renderMessages();
      log(`not sent: ${error.message}`);
    })
    .finally(() => void showPending());
  void showPending();
}

// ── workspace files ──────────────────────────────────────────────────────────────────────────

function renderFiles() {
  const list = [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
  $('files').replaceChildren(
    ...list.map((file) => {
      const item = element('li', {
        'data-file-id': file.id,
        'data-path': file.path,
        'data-version': file.version,
        'data-hash': file.contentHash,
      });
      const open = element('button', { type: 'button' }, file.path);
      open.addEventListener('click', () => void selectFile(file));
      item.append(
        open,
        ` v${file.version} · ${file.sizeBytes} B · ${file.contentHash.slice(0, 8)}`,
      );
      return item;
    }),
  );
}

function applyFile(change) {
  if (change.kind === 'sync_file.deleted' || change.data.deleted) files.delete(change.data.id);
  else files.set(change.data.id, change.data);
}

async function openWorkspace(id) {
  await workspace?.subscription.close();
  workspace = undefined;
  files.clear();
  const stream = `workspace:${id}`;
  try {
    const snapshot = await client.snapshot(stream);
    for (const file of snapshot.files) files.set(file.id, file);
    const subscription = client.subscribe(stream, { since: snapshot.seq });
    subscription.on('change', (change) => {
      if (!change.kind.startsWith('sync_file.')) return;
      applyFile(change);
      renderFiles();
    });
    subscription.on('resync', ({ snapshot: fresh }) => {
      files.clear();
      for (const file of fresh.files) files.set(file.id, file);
      renderFiles();
    });
    subscription.on('ended', ({ message }) => log(message));
    workspace = { id, subscription };
    $('workspace-id').textContent = id;
    $('workspace-input').value = id;
  } catch (error) {
    log(`cannot open workspace ${id}: ${error.message}`);
  }
  renderFiles();
  updateUrl();
}

/** Loads a file into the editor, with the version the edit will be made against. */
async function selectFile(file) {
  $('file-path').value = file.path;
  $('file-base').value = String(file.version);
  const content = await client.downloadContent(workspace.id, file.contentHash);
  $('file-content').value = new TextDecoder().decode(content);
}

function fileStatus(text, conflict = false) {
  $('file-status').textContent = text;
  $('file-status').toggleAttribute('data-conflict', conflict);
}

/** Uploads the content, then pushes the change against the base version (compare-and-set). */
async function saveFile(event) {
  event.preventDefault();
  if (!workspace) return;
  const path = $('file-path').value.trim();
  const existing = [...files.values()].find((file) => file.path === path);
  const baseVersion = Number($('file-base').value) || existing?.version;
  fileStatus('saving…');
  try {
    const content = new TextEncoder().encode($('file-content').value);
    const { hash } = await client.uploadContent(workspace.id, content);
    const change = existing
      ? {
          op: 'update',
          workspaceId: workspace.id,
          fileId: existing.id,
          baseVersion,
          contentHash: hash,
        }
      : { op: 'create', workspaceId: workspace.id, path, contentHash: hash };
    const { file } = await client.write('file:push', change);
    $('file-base').value = String(file.version);
    fileStatus(`saved ${file.path} v${file.version}`);
  } catch (error) {
    if (error instanceof ClientError && error.code === 'conflict' && error.current) {
      fileStatus(
        `conflict: ${error.current.path} is at v${error.current.version}, this edit was made on ` +
          `v${baseVersion}; open the file again and redo the edit`,
        true,
      );
    } else fileStatus(`not saved: ${error.message}`, true);
  }
}

// ── wiring ───────────────────────────────────────────────────────────────────────────────────

function guarded(action) {
  return (...args) => Promise.resolve(action(...args)).catch((error) => log(error.message));
}

$('mint').hidden = document.body.dataset.devTokens !== 'on';
$('mint-user').value = params.get('user') ?? '';
$('use-token').addEventListener(
  'click',
  guarded(() => signIn($('token').value.trim())),
);
$('mint-token').addEventListener('click', guarded(mintToken));
$('open-conversation').addEventListener(
  'click',
  guarded(() => openConversation($('conversation-input').value.trim())),
);
$('new-conversation').addEventListener(
  'click',
  guarded(async () => {
    const { id } = await client.write('conversation:create', {
      clientId: uuid(),
      title: 'demo conversation',
    });
    await openConversation(id);
  }),
);
$('open-workspace').addEventListener(
  'click',
  guarded(() => openWorkspace($('workspace-input').value.trim())),
);
$('new-workspace').addEventListener(
  'click',
  guarded(async () => {
    const { id } = await client.write('workspace:create', { clientId: uuid(), name: 'demo files' });
    await openWorkspace(id);
  }),
);
$('send').addEventListener('submit', send);
$('edit').addEventListener('submit', guarded(saveFile));
setInterval(() => void showPending(), 500);

const token = params.get('token') ?? sessionStorage.getItem('ccs-demo-token');
if (token) await guarded(signIn)(token);
