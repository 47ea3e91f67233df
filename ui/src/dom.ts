// Building DOM nodes. Text always goes in as text nodes: no string is ever parsed as HTML, so names, replies and
// errors that came from the API or a function's script are shown as data and cannot become markup.

export type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  title?: string;
  /** Plain attributes (aria-*, data-*, type, value...); event handler attributes are refused. */
  attrs?: Record<string, string>;
  onClick?: () => void;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  if (props.title) element.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (name.toLowerCase().startsWith("on")) throw new Error(`refusing event attribute ${name}`);
    element.setAttribute(name, value);
  }
  const onClick = props.onClick;
  if (onClick) element.addEventListener("click", () => onClick());
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Replaces what `parent` shows. */
export function show(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export interface ButtonOptions {
  kind?: string;
  disabled?: boolean;
  testid?: string;
  title?: string;
}

export function button(label: string, onClick: () => void, options: ButtonOptions = {}): HTMLButtonElement {
  const attrs: Record<string, string> = { type: "button" };
  if (options.testid) attrs["data-testid"] = options.testid;
  const props: Props = { class: `btn ${options.kind ?? ""}`.trim(), attrs, onClick };
  if (options.title) props.title = options.title;
  const element = h("button", props, label);
  element.disabled = options.disabled ?? false;
  return element;
}

/**
 * Where the keyboard focus is, as a selector that finds the same control after a redraw replaced it: its test id,
 * within the row (data-uuid) it belongs to.
 */
export function focusSelector(element: Element | null): string | null {
  const testid = element?.getAttribute("data-testid");
  if (!element || !testid) return null;
  const own = `[data-testid="${CSS.escape(testid)}"]`;
  const row = element.closest("[data-uuid]");
  const uuid = row?.getAttribute("data-uuid");
  if (!uuid) return own;
  const inRow = `[data-uuid="${CSS.escape(uuid)}"]`;
  return row === element ? `${own}${inRow}` : `${inRow} ${own}`;
}
