import type { ServerResponse } from 'node:http';

/** Who opened a stream and for what: checked again, now and then, for as long as the stream lasts. */
export interface StreamHolder {
  /** The workspace and access client the per-client cap counts by. */
  readonly clientKey: string;
  /** Streams with the same grant (token and toolset) share one check per sweep. */
  readonly grantKey: string;
  /** Whether the holder would still be let in; false ends the stream. */
  stillAdmitted(): Promise<boolean>;
}

interface OpenStream {
  readonly response: ServerResponse;
  readonly keepAlive: NodeJS.Timeout;
  readonly holder: StreamHolder;
}

export interface SseStreamOptions {
  readonly maxPerClient: number;
  /** Milliseconds between checks of every open stream's holder. */
  readonly checkMs: number;
  readonly keepAliveSeconds: number;
}

/**
 * The open streams of the legacy SSE transport on this node: at most `maxPerClient` per access client, each
 * ended within `checkMs` once its holder would no longer be let in (client disabled, token revoked, toolset
 * deleted). The holder's check reads through the gateway's lookups, which stay cached until the store's change
 * stamps move (a NOTIFY from another PostgreSQL node among them), so a quiet sweep costs no query.
 */
export function createSseStreams(options: SseStreamOptions) {
  const streams = new Map<string, OpenStream>();
  const perClient = new Map<string, number>();
  let checking: NodeJS.Timeout | undefined;
  let sweeping = false;

  function end(sessionId: string) {
    const stream = streams.get(sessionId);
    if (!stream) return;
    streams.delete(sessionId);
    clearInterval(stream.keepAlive);
    const open = (perClient.get(stream.holder.clientKey) ?? 1) - 1;
    if (open > 0) perClient.set(stream.holder.clientKey, open);
    else perClient.delete(stream.holder.clientKey);
    if (!stream.response.writableEnded) stream.response.end();
  }

  async function sweep() {
    if (sweeping) return;
    if (streams.size === 0) {
      clearInterval(checking);
      checking = undefined;
      return;
    }
    sweeping = true;
    const verdicts = new Map<string, Promise<boolean>>();
    try {
      for (const [sessionId, { holder }] of [...streams]) {
        let verdict = verdicts.get(holder.grantKey);
        if (!verdict) verdicts.set(holder.grantKey, (verdict = holder.stillAdmitted()));
        if (!(await verdict)) end(sessionId);
      }
    } finally {
      sweeping = false;
    }
  }

  return {
    /** Whether the client may open one more stream. */
    hasRoom: (clientKey: string) => (perClient.get(clientKey) ?? 0) < options.maxPerClient,

    /** Keeps an open stream (its headers and first event written): keep-alive comments, checks, the end. */
    add(sessionId: string, response: ServerResponse, holder: StreamHolder): void {
      const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), options.keepAliveSeconds * 1000);
      keepAlive.unref();
      streams.set(sessionId, { response, keepAlive, holder });
      perClient.set(holder.clientKey, (perClient.get(holder.clientKey) ?? 0) + 1);
      response.on('close', () => end(sessionId));
      if (!checking) {
        checking = setInterval(() => void sweep(), options.checkMs);
        checking.unref();
      }
    },

    /** The response of an open stream, to write a message to. */
    responseOf: (sessionId: string): ServerResponse | undefined => streams.get(sessionId)?.response,

    /** Ends every stream: the server is closing. */
    closeAll(): void {
      clearInterval(checking);
      checking = undefined;
      for (const sessionId of [...streams.keys()]) end(sessionId);
    },
  };
}
