import type {
  ContentUploadResult,
  HistoryPage,
  StreamName,
  StreamSnapshot,
  WireError,
} from '@ccs/protocol';
import { ClientError } from './client-error.js';

/** The sync-server's REST reads, with the client's device token. */
export class RestApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: () => Promise<string>,
    private readonly refused: () => void,
  ) {}

  snapshot(
    stream: StreamName,
    options: { readonly messages?: number } = {},
  ): Promise<StreamSnapshot> {
    const query = options.messages === undefined ? '' : `?messages=${options.messages}`;
    return this.json(`/v1/streams/${encodeURIComponent(stream)}/snapshot${query}`);
  }

  history(
    conversationId: string,
    options: { readonly before?: number; readonly limit?: number },
  ): Promise<HistoryPage> {
    const query = new URLSearchParams();
    if (options.before !== undefined) query.set('before', String(options.before));
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const suffix = query.size > 0 ? `?${query}` : '';
    return this.json(`/v1/conversations/${conversationId}/messages${suffix}`);
  }

  async uploadContent(workspaceId: string, content: Uint8Array): Promise<ContentUploadResult> {
    // A copy on an ArrayBuffer of its own: what WebCrypto and fetch take in every runtime.
    const bytes = new Uint8Array(content);
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    const hash = [...new Uint8Array(digest)]
      .map((byte) => byte.toString(16).padStart(2, '0'))
      .join('');
    return this.json(`/v1/workspaces/${workspaceId}/contents/${hash}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
  }

  async downloadContent(workspaceId: string, hash: string): Promise<Uint8Array> {
    const response = await this.fetch(`/v1/workspaces/${workspaceId}/contents/${hash}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await (await this.fetch(path, init)).json()) as T;
  }

  /** Fetches with the token; a refused token is dropped so the next call fetches a fresh one. */
  private async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(new URL(path, this.baseUrl), {
      ...init,
      headers: {
        ...(init.headers as Record<string, string>),
        authorization: `Bearer ${await this.token()}`,
      },
    });
    if (response.ok) return response;
    if (response.status === 401) this.refused();
    const body = (await response.json().catch(() => undefined)) as WireError | undefined;
    throw body?.code
      ? ClientError.fromWire(body)
      : new ClientError(
          'http_error',
          `${init.method ?? 'GET'} ${path} answered ${response.status}`,
        );
  }
}
