import { useState } from 'preact/hooks';
import { api, endpointPath, errorText } from '../api';
import type { Flood } from '../state/types';
import { ActionForm, Dialog } from './Dialog';

export type FloodDialog = { kind: 'block' | 'isolate' | 'escalate'; flood: Flood } | null;

export const TTL_CHOICES: [string, string][] = [
  ['10m', '10 minutes'],
  ['1h', '1 hour'],
  ['6h', '6 hours'],
  ['24h', '24 hours'],
  ['', 'permanent (until unblocked)'],
];

function useAction(done: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError('');
    try {
      await fn();
      done();
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return { busy, error, run };
}

export function BlockDialog({ source, onClose }: { source: string; onClose: () => void }) {
  const [ttl, setTtl] = useState('1h');
  const [reason, setReason] = useState(`flood from ${source}`);
  const a = useAction(onClose);
  return (
    <Dialog title={`Block ${source} on every endpoint`} testid="block-dialog" onClose={onClose}>
      <ActionForm
        {...a}
        confirmLabel="Block globally"
        confirmTestid="block-confirm"
        danger
        onCancel={onClose}
        onSubmit={() =>
          a.run(() => api('POST', '/v1/blocks', { source, ...(ttl ? { ttl } : {}), reason: reason.slice(0, 256) }))
        }
      >
        <label for="block-ttl">How long</label>
        <select id="block-ttl" data-testid="block-ttl" value={ttl} onChange={(e) => setTtl((e.target as HTMLSelectElement).value)}>
          {TTL_CHOICES.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
        <label for="block-reason">Reason (shown in the audit log)</label>
        <input
          id="block-reason"
          data-testid="block-reason"
          maxLength={256}
          value={reason}
          onInput={(e) => setReason((e.target as HTMLInputElement).value)}
        />
      </ActionForm>
    </Dialog>
  );
}

export function IsolateDialog({ endpoints, onClose }: { endpoints: string[]; onClose: () => void }) {
  const [name, setName] = useState(endpoints[0] ?? '');
  const [reason, setReason] = useState('');
  const a = useAction(onClose);
  return (
    <Dialog title="Isolate an endpoint" testid="isolate-dialog" onClose={onClose}>
      <ActionForm
        {...a}
        confirmLabel="Isolate"
        confirmTestid="isolate-confirm"
        danger
        onCancel={onClose}
        onSubmit={() => a.run(() => api('POST', endpointPath(name, 'isolate'), reason ? { reason } : {}))}
      >
        <p class="muted">It will drop all traffic but the console's and its allowlist's until released.</p>
        <label for="isolate-endpoint">Endpoint</label>
        <select
          id="isolate-endpoint"
          data-testid="isolate-endpoint"
          value={name}
          onChange={(e) => setName((e.target as HTMLSelectElement).value)}
        >
          {endpoints.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        <label for="isolate-reason">Reason</label>
        <input id="isolate-reason" maxLength={256} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      </ActionForm>
    </Dialog>
  );
}

export function EscalateDialog({ flood, onClose }: { flood: Flood; onClose: () => void }) {
  const [note, setNote] = useState('');
  const a = useAction(onClose);
  return (
    <Dialog title={`Escalate flood #${flood.id} from ${flood.source}`} testid="escalate-dialog" onClose={onClose}>
      <ActionForm
        {...a}
        confirmLabel="Open incident"
        confirmTestid="escalate-confirm"
        onCancel={onClose}
        onSubmit={() => a.run(() => api('POST', `/v1/floods/${flood.id}/escalate`, note ? { note } : {}))}
      >
        <label for="escalate-note">Note for the on-call (sent to the webhooks)</label>
        <textarea
          id="escalate-note"
          data-testid="escalate-note"
          rows={3}
          maxLength={1024}
          value={note}
          onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)}
        />
      </ActionForm>
    </Dialog>
  );
}

export function FloodDialogs({ dialog, close }: { dialog: FloodDialog; close: () => void }) {
  if (!dialog) return null;
  if (dialog.kind === 'block') return <BlockDialog source={dialog.flood.source} onClose={close} />;
  if (dialog.kind === 'isolate') return <IsolateDialog endpoints={dialog.flood.endpoints} onClose={close} />;
  return <EscalateDialog flood={dialog.flood} onClose={close} />;
}
