/**
 * The shape every domain validator reports in: a list of problems, empty when valid,
 * so the API can name every failing field in one 400 response instead of the first one.
 */
export type FieldIssue = { path: string; message: string };

/** Attach a field path to plain messages, e.g. issuesAt('username', validateUsername(u)). */
export function issuesAt(path: string, messages: readonly string[]): FieldIssue[] {
  return messages.map((message) => ({ path, message }));
}

/** Join path segments the way the API reports them: "numberRanges.0.first". */
export function joinPath(...segments: Array<string | number>): string {
  return segments.filter((s) => s !== '').join('.');
}

/** Prefix already-pathed issues with a parent path (nested objects, CSV rows). */
export function nestIssues(prefix: string, issues: readonly FieldIssue[]): FieldIssue[] {
  return issues.map((issue) => ({ path: joinPath(prefix, issue.path), message: issue.message }));
}
