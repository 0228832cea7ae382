import { type FormEvent, useState } from 'react';
import { ApiError, api, type Preference, type VersionedPreference } from '../api';

/** The caller's preferences: list, add, edit, delete. Server validation errors show next to the field they concern. */
export function Preferences({ preferences, onChanged }: { preferences: Preference[]; onChanged: () => void }) {
  return (
    <section className="card">
      <div className="card-title">
        <h2>Your preferences</h2>
        <span className="muted">{preferences.length} saved</span>
      </div>
      <PreferenceForm onSaved={onChanged} />
      {preferences.length === 0 ? (
        <p className="muted">No preferences yet. Add one above: the value can be any JSON, or plain text.</p>
      ) : (
        <ul className="preferences">
          {preferences.map((preference) => (
            <PreferenceRow key={preference.key} preference={preference} onChanged={onChanged} />
          ))}
        </ul>
      )}
    </section>
  );
}

/**
 * Adds a preference, or edits one when `existing` is given (the key is then fixed). An edit is saved with `If-Match`
 * set to the ETag it was read with; if someone changed the preference since, the server answers 412 and
 * `onConflict` runs instead of overwriting their change.
 */
function PreferenceForm({
  existing,
  onSaved,
  onCancel,
  onConflict,
}: {
  existing?: VersionedPreference;
  onSaved: () => void;
  onCancel?: () => void;
  onConflict?: () => void;
}) {
  const [key, setKey] = useState(existing?.preference.key ?? '');
  const [text, setText] = useState(existing ? formatValue(existing.preference.value) : '');
  const [error, setError] = useState<ApiError>();
  const [saving, setSaving] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    try {
      // An edit applies to the version it read (If-Match); an add never replaces a preference someone else made.
      if (existing) await api.savePreference(key.trim(), parseValue(text), existing.etag);
      else await api.createPreference(key.trim(), parseValue(text));
      setError(undefined);
      if (!existing) {
        setKey('');
        setText('');
      }
      onSaved();
    } catch (caught) {
      if (caught instanceof ApiError && caught.code === 'PREFERENCE_CHANGED' && onConflict) return onConflict();
      setError(caught instanceof ApiError ? caught : new ApiError(0, 'UNEXPECTED', String(caught)));
    } finally {
      setSaving(false);
    }
  };

  const fieldError = (field: string) =>
    error?.field === field && (
      <span className="field-error" role="alert">
        {error.message}
      </span>
    );
  const id = existing ? `edit-${existing.preference.key}` : 'new';

  return (
    <form
      className={existing ? 'form form-inline' : 'form'}
      onSubmit={submit}
      aria-label={existing ? `Edit ${existing.preference.key}` : 'Add a preference'}
    >
      {!existing && (
        <label htmlFor={`${id}-key`}>
          Key
          <input
            id={`${id}-key`}
            value={key}
            onChange={(event) => setKey(event.target.value)}
            placeholder="theme"
            aria-invalid={error?.field === 'key'}
          />
          {fieldError('key')}
        </label>
      )}
      <label htmlFor={`${id}-value`}>
        Value
        <textarea
          id={`${id}-value`}
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder='"dark", 42 or {"fontSize": 14}'
          rows={existing ? 3 : 2}
          aria-invalid={error?.field === 'value' || error?.field === 'body'}
        />
        {fieldError('value') || fieldError('body')}
      </label>
      {error && !['key', 'value', 'body'].includes(error.field ?? '') && (
        <p className="field-error" role="alert">
          {error.message} {error.suggestion}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={saving || (!existing && key.trim() === '')}>
          {existing ? 'Save' : 'Add'}
        </button>
        {onCancel && (
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function PreferenceRow({ preference, onChanged }: { preference: Preference; onChanged: () => void }) {
  // The preference as read when Edit was clicked, with its ETag: the version the edit applies to.
  const [editing, setEditing] = useState<VersionedPreference>();
  const [error, setError] = useState<string>();

  /** Reads the current version into the editor; `notice` says why (undefined when the user clicked Edit). */
  const edit = async (notice?: string) => {
    try {
      setEditing(await api.getPreference(preference.key));
      setError(notice);
    } catch (caught) {
      setEditing(undefined);
      setError(caught instanceof ApiError && caught.status === 404 ? 'It was deleted elsewhere.' : String(caught));
      onChanged();
    }
  };

  /**
   * Deletes the version this row shows, never a newer one: the list carries no ETags, so read the current version
   * first, refuse if it is not the one shown, and delete with `If-Match` set to its ETag (a change that lands between
   * the read and the delete gets 412).
   */
  const remove = async () => {
    const changed = () => {
      setError('It was changed elsewhere since it was shown: this is the latest value. Delete again to remove it.');
      onChanged();
    };
    try {
      const current = await api.getPreference(preference.key);
      if (!sameVersion(current.preference, preference)) return changed();
      await api.deletePreference(preference.key, current.etag);
      setError(undefined);
      onChanged();
    } catch (caught) {
      if (caught instanceof ApiError && caught.code === 'PREFERENCE_CHANGED') return changed();
      if (caught instanceof ApiError && caught.status === 404) {
        setError('It was deleted elsewhere.');
        return onChanged();
      }
      setError(caught instanceof ApiError ? caught.message : String(caught));
    }
  };

  return (
    <li className="preference" data-testid={`preference-${preference.key}`}>
      <div className="preference-head">
        <code className="preference-key">{preference.key}</code>
        <span className="muted" title={preference.updatedAt}>
          updated {new Date(preference.updatedAt).toLocaleString()}
        </span>
        {!editing && (
          <span className="actions">
            <button type="button" className="secondary" onClick={() => edit()}>
              Edit
            </button>
            <button type="button" className="danger" onClick={remove}>
              Delete
            </button>
          </span>
        )}
      </div>
      {editing ? (
        <PreferenceForm
          // A new version (after a conflict) starts a new form holding the value just read.
          key={editing.etag}
          existing={editing}
          onSaved={() => {
            setEditing(undefined);
            setError(undefined);
            onChanged();
          }}
          onCancel={() => {
            setEditing(undefined);
            setError(undefined);
          }}
          onConflict={() => {
            onChanged();
            void edit('It was changed elsewhere since you opened it: this is the latest value. Make your edit again.');
          }}
        />
      ) : (
        <pre className="preference-value" data-testid="preference-value">
          {formatValue(preference.value)}
        </pre>
      )}
      {error && (
        <p className="field-error" role="alert" data-testid="preference-notice">
          {error}
        </p>
      )}
    </li>
  );
}

/** The same version: every write sets `updatedAt`, and the value is compared too, as the server returns it. */
function sameVersion(a: Preference, b: Preference): boolean {
  return a.updatedAt === b.updatedAt && JSON.stringify(a.value) === JSON.stringify(b.value);
}

/** Text that parses as JSON is sent as that JSON; anything else is sent as a plain string. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The inverse of {@link parseValue}: a string shows bare unless it would read back as other JSON (`"42"`). */
function formatValue(value: unknown): string {
  if (typeof value === 'string' && parseValue(value) === value) return value;
  return JSON.stringify(value, null, 2);
}
