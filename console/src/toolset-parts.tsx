import { useEffect, useId, useState, type FormEvent } from 'react';
import { api, wsPath, type Page } from './api';
import { ActionButton, CopyButton, Field, ProblemBanner, errorAt, useAction } from './forms';
import { useQueryParams } from './router';
import type { Tool, Toolset } from './types';
import { EmptyState } from './ui';

/**
 * The tools the gateway serves for a toolset with their served input schemas, every page of
 * GET …/toolsets/{name}/tools; read again when the toolset changes.
 */
function useServedTools(workspaceId: string, toolset: Toolset): Tool[] {
  const [tools, setTools] = useState<Tool[]>([]);
  const key = `${toolset.name}@${toolset.generation}/${toolset.status.observedGeneration ?? ''}/${toolset.status.phase}`;
  useEffect(() => {
    let current = true;
    void (async () => {
      const all: Tool[] = [];
      let cursor: string | undefined;
      do {
        const reply = await api.get<Page<Tool>>(wsPath(workspaceId, 'toolsets', toolset.name, 'tools'), {
          limit: 200,
          ...(cursor === undefined ? {} : { cursor }),
        });
        all.push(...reply.body.items);
        cursor = reply.body.nextCursor ?? undefined;
      } while (cursor !== undefined && current);
      if (current) setTools(all);
    })().catch(() => {
      if (current) setTools([]);
    });
    return () => {
      current = false;
    };
    // `key` names every change of the toolset that changes its tools.
  }, [workspaceId, key]);
  return tools;
}

/** A JSON answer indented for reading; any other text as it came. */
function readable(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

const formatBytes = (n: number) => (n < 1024 ? `${n} bytes` : `${(n / 1024).toFixed(1)} KiB (${n} bytes)`);

interface JsonSchema {
  type?: string | string[];
  description?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  default?: unknown;
}

const typeOf = (schema: JsonSchema): string => {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type) return type;
  if (schema.properties) return 'object';
  return 'json';
};

/** The arguments a form's text turns into; a field left empty is left out. */
function argumentsOf(
  properties: Record<string, JsonSchema>,
  values: Record<string, string>,
): { args: Record<string, unknown>; errors: Record<string, string> } {
  const args: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const [name, schema] of Object.entries(properties)) {
    const text = values[name] ?? '';
    if (text.trim() === '') continue;
    const type = typeOf(schema);
    if (type === 'integer' || type === 'number') {
      const n = Number(text);
      if (Number.isNaN(n) || (type === 'integer' && !Number.isInteger(n)))
        errors[name] = type === 'integer' ? 'must be a whole number' : 'must be a number';
      else args[name] = n;
    } else if (type === 'boolean') {
      args[name] = text === 'true';
    } else if (type === 'string') {
      args[name] = text;
    } else {
      try {
        args[name] = JSON.parse(text);
      } catch {
        errors[name] =
          type === 'array' ? 'must be a JSON list, such as ["a", "b"]' : 'must be JSON, such as {"key": "value"}';
      }
    }
  }
  return { args, errors };
}

/** A form generated from a tool's input schema; the call goes through the gateway's call path with your rights. */
function TryTool({ workspaceId, toolset, tool }: { workspaceId: string; toolset: string; tool: Tool }) {
  const schema = tool.inputSchema as JsonSchema;
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const [values, setValues] = useState<Record<string, string>>({});
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const [answer, setAnswer] = useState<{
    result: { content: { type: string; text?: string }[]; structuredContent?: unknown; isError?: boolean };
    latencyMs: number;
  } | null>(null);
  const call = useAction(async () => {
    setAnswer(null);
    const { args, errors } = argumentsOf(properties, values);
    setLocalErrors(errors);
    if (Object.keys(errors).length > 0) return;
    const path = `${wsPath(workspaceId, 'toolsets', toolset, 'tools', tool.name)}/call`;
    setAnswer((await api.post<NonNullable<typeof answer>>(path, { arguments: args })).body);
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void call.run();
  };
  const shown = Object.keys(properties).map((name) => `/${name}`);
  return (
    <form className="try-tool" onSubmit={submit} aria-label={`Try ${tool.name}`}>
      <h4>Try {tool.name}</h4>
      <p className="hint">
        The call goes to the upstream through the gateway, with your rights (editor or above) and the toolset's stored
        credential. It may change things upstream.
      </p>
      <ProblemBanner problem={call.problem} shownPaths={shown} />
      {Object.keys(properties).length === 0 ? <p className="muted">This tool takes no arguments.</p> : null}
      {Object.entries(properties).map(([name, property]) => {
        const type = typeOf(property);
        const label = `${name}${required.has(name) ? ' (required)' : ''}`;
        const error = localErrors[name] ?? errorAt(call.problem, `/${name}`);
        const set = (value: string) => setValues((v) => ({ ...v, [name]: value }));
        const hint = [
          property.description,
          type === 'object' || type === 'array' || type === 'json' ? `JSON ${type === 'json' ? 'value' : type}` : null,
        ]
          .filter(Boolean)
          .join(' — ');
        return (
          <Field key={name} label={label} error={error} hint={hint || undefined}>
            {(id, describedBy) =>
              property.enum ? (
                <select
                  id={id}
                  value={values[name] ?? ''}
                  aria-describedby={describedBy}
                  onChange={(e) => set(e.target.value)}
                >
                  <option value="">(leave out)</option>
                  {property.enum.map((v) => (
                    <option key={String(v)} value={String(v)}>
                      {String(v)}
                    </option>
                  ))}
                </select>
              ) : type === 'boolean' ? (
                <select
                  id={id}
                  value={values[name] ?? ''}
                  aria-describedby={describedBy}
                  onChange={(e) => set(e.target.value)}
                >
                  <option value="">(leave out)</option>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </select>
              ) : type === 'object' || type === 'array' || type === 'json' ? (
                <textarea
                  id={id}
                  rows={3}
                  className="code"
                  value={values[name] ?? ''}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={describedBy}
                  onChange={(e) => set(e.target.value)}
                />
              ) : (
                <input
                  id={id}
                  type={type === 'integer' || type === 'number' ? 'number' : 'text'}
                  step={type === 'number' ? 'any' : undefined}
                  value={values[name] ?? ''}
                  required={required.has(name)}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={describedBy}
                  onChange={(e) => set(e.target.value)}
                />
              )
            }
          </Field>
        );
      })}
      <ActionButton type="submit" className="primary" busy={call.busy} busyLabel="Calling…">
        Call {tool.name}
      </ActionButton>
      {answer ? (
        <div
          className={`banner ${answer.result.isError ? 'error' : 'ok'}`}
          role="status"
          data-testid="tool-answer"
          aria-label={`Answer of ${tool.name}`}
        >
          <strong>{answer.result.isError ? 'The tool reported an error' : 'Answer'}</strong>{' '}
          <span className="muted">({Math.round(answer.latencyMs)} ms)</span>
          {answer.result.content.map((item, index) => (
            <pre key={index} tabIndex={0}>
              {item.type === 'text' ? readable(item.text ?? '') : JSON.stringify(item, null, 2)}
            </pre>
          ))}
        </div>
      ) : null}
    </form>
  );
}

/** The tools as an agent sees them: names, descriptions, input schemas, the catalogue's size; each can be tried. */
export function Catalogue({
  workspaceId,
  toolset,
  canTry,
}: {
  workspaceId: string;
  toolset: Toolset;
  canTry: boolean;
}) {
  const tools = useServedTools(workspaceId, toolset);
  const [params, setParams] = useQueryParams();
  const filter = params.get('tool') ?? '';
  const [trying, setTrying] = useState<string | null>(null);
  const summary = toolset.status.outputs.catalog;
  const searchId = useId();
  const shown = tools.filter(
    (t) =>
      filter === '' ||
      t.name.toLowerCase().includes(filter.toLowerCase()) ||
      t.description.toLowerCase().includes(filter.toLowerCase()),
  );
  return (
    <section className="panel" aria-labelledby={`${searchId}-title`}>
      <h2 id={`${searchId}-title`}>Tools ({tools.length})</h2>
      {summary ? (
        <p data-testid="catalogue-size">
          What an agent reads from <code>tools/list</code> (served {summary.servedMode}
          {summary.servedMode === 'dynamic' ? ': search_tools, describe_tool and call_tool' : ''}): {summary.tools}{' '}
          tools, {formatBytes(summary.listBytes)}, about {summary.estimatedTokens.toLocaleString('en')} tokens
          (estimated at 4 bytes a token).
          {summary.servedMode === 'dynamic'
            ? ` Every tool listed at once would take ${summary.staticListEstimated ? 'up to ' : ''}${formatBytes(summary.staticListBytes)}.`
            : ''}
        </p>
      ) : null}
      {tools.length > 0 ? (
        <div className="toolbar">
          <div className="filter">
            <label htmlFor={searchId}>Find a tool</label>
            <input
              id={searchId}
              type="search"
              value={filter}
              placeholder="name or description contains…"
              onChange={(e) => setParams({ tool: e.target.value })}
            />
          </div>
        </div>
      ) : (
        <EmptyState title="No tools yet.">
          {toolset.status.phase === 'Failed'
            ? 'The import failed before producing any tool: fix the document and import it again.'
            : 'The import is still running; the tools appear here when it finishes.'}
        </EmptyState>
      )}
      {tools.length > 0 && shown.length === 0 ? (
        <p className="muted">No tool's name or description contains "{filter}".</p>
      ) : null}
      <ul className="tools">
        {shown.map((tool) => (
          <li key={tool.name}>
            <details>
              <summary>
                <code>{tool.name}</code> — {tool.description || <span className="muted">no description</span>}
              </summary>
              <pre aria-label={`Input schema of ${tool.name}`} tabIndex={0}>
                {JSON.stringify(tool.inputSchema, null, 2)}
              </pre>
            </details>
            {canTry ? (
              trying === tool.name ? (
                <TryTool workspaceId={workspaceId} toolset={toolset.name} tool={tool} />
              ) : (
                <button type="button" onClick={() => setTrying(tool.name)}>
                  Try {tool.name}
                </button>
              )
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

const SECRET_PLACEHOLDER = '<access-client-secret>';

/** Copy-paste configuration for the common MCP clients, with this toolset's URL. */
export function clientConfigs(name: string, url: string): { id: string; label: string; where: string; text: string }[] {
  const header = `Bearer ${SECRET_PLACEHOLDER}`;
  return [
    {
      id: 'vscode',
      label: 'VS Code',
      where: '.vscode/mcp.json in your workspace (VS Code asks for the secret once and keeps it)',
      text: JSON.stringify(
        {
          inputs: [
            {
              type: 'promptString',
              id: `${name}-secret`,
              description: `Access-client secret for ${name}`,
              password: true,
            },
          ],
          servers: { [name]: { type: 'http', url, headers: { Authorization: `Bearer \${input:${name}-secret}` } } },
        },
        null,
        2,
      ),
    },
    {
      id: 'cursor',
      label: 'Cursor',
      where: '~/.cursor/mcp.json (or .cursor/mcp.json in a project)',
      text: JSON.stringify({ mcpServers: { [name]: { url, headers: { Authorization: header } } } }, null, 2),
    },
    {
      id: 'claude-code',
      label: 'Claude Code',
      where: 'a terminal',
      text: `claude mcp add --transport http ${name} ${url} --header "Authorization: ${header}"`,
    },
    {
      id: 'claude-desktop',
      label: 'Claude Desktop (mcp-remote)',
      where: 'claude_desktop_config.json (Settings → Developer → Edit config)',
      text: JSON.stringify(
        {
          mcpServers: {
            [name]: {
              command: 'npx',
              args: ['-y', 'mcp-remote', url, '--header', 'Authorization:${AUTH_HEADER}'],
              env: { AUTH_HEADER: header },
            },
          },
        },
        null,
        2,
      ),
    },
    {
      id: 'oauth',
      label: 'OAuth clients (Claude, ChatGPT, VS Code, Cursor)',
      where:
        'the client\'s "add a custom connector" or "add MCP server" form: the URL alone; the client then signs you in to plugboard and asks you to approve it',
      text: url,
    },
  ];
}

/** The MCP URL and how to put it into a client. */
export function ClientSetup({ toolset }: { toolset: Toolset }) {
  const url = toolset.status.outputs.mcpServerConfig.url;
  const configs = clientConfigs(toolset.name, url);
  const [chosen, setChosen] = useState(configs[0]!.id);
  const config = configs.find((c) => c.id === chosen) ?? configs[0]!;
  const selectId = useId();
  return (
    <section className="panel" aria-label="MCP server">
      <h2>MCP server</h2>
      <p className="url-row">
        <code data-testid="mcp-url">{url}</code> <CopyButton text={url} label="Copy MCP URL" />
      </p>
      <p className="hint">
        Transport {toolset.status.outputs.mcpServerConfig.transportType}. Clients send an access client's secret as{' '}
        <code>Authorization: Bearer …</code>; create one under Access clients and allow it this toolset. Clients that
        support MCP OAuth need only the URL: the person signs in to plugboard and approves the client.
      </p>
      <div className="filter">
        <label htmlFor={selectId}>Client configuration for</label>
        <select id={selectId} value={chosen} onChange={(e) => setChosen(e.target.value)}>
          {configs.map((c) => (
            <option key={c.id} value={c.id}>
              {c.label}
            </option>
          ))}
        </select>
      </div>
      <p className="hint">
        Paste into {config.where}
        {config.id === 'oauth' ? (
          '.'
        ) : (
          <>
            , with the access client's secret in place of <code>{SECRET_PLACEHOLDER}</code>.
          </>
        )}
      </p>
      <pre data-testid="client-config" aria-label={`${config.label} configuration`} tabIndex={0}>
        {config.text}
      </pre>
      <CopyButton key={config.id} text={config.text} label={`Copy ${config.label} configuration`} />
    </section>
  );
}
