/** The labelled inputs of the console's filter and search forms: one markup for every page, so labels never drift. */

export interface SelectOption {
  value: string;
  label: string;
}

/** A labelled select; `any` adds a first option with the empty value (no filter). */
export function SelectField(props: { id: string; name?: string; label: string; options: readonly SelectOption[]; selected: string | null | undefined; any?: string }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} name={props.name ?? props.id}>
        {props.any !== undefined ? <option value="">{props.any}</option> : null}
        {props.options.map((o) => (
          <option value={o.value} selected={o.value === props.selected}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A labelled free-text input (a search box by default); never spell-checked or auto-filled. */
export function TextField(props: { id: string; name?: string; label: string; value: string | null | undefined; type?: string; placeholder?: string | undefined }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input id={props.id} name={props.name ?? props.id} type={props.type ?? 'search'} value={props.value ?? ''} autocomplete="off" spellcheck={false} placeholder={props.placeholder} />
    </div>
  );
}

/** Options from plain values, shown with underscores as spaces (`reauth_required` -> `reauth required`). */
export function valueOptions(values: readonly string[]): SelectOption[] {
  return values.map((v) => ({ value: v, label: v.replace(/_/g, ' ') }));
}

/** The end of a filter form: submit, and a link back to the unfiltered page. */
export function FilterButtons(props: { label: string; clearHref: string }) {
  return (
    <>
      <button class="button" type="submit">
        {props.label}
      </button>
      <a href={props.clearHref}>Clear</a>
    </>
  );
}
