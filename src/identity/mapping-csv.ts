/** One mapping line of an admin's CSV, with its line number in the file (1-based). */
export interface CsvMapping {
  line: number;
  externalUserId: string;
  accountId: string;
}

export interface CsvProblem {
  line: number;
  message: string;
}

export const MAX_CSV_MAPPINGS = 1000;

/**
 * Reads `your user ID,account ID` lines. Blank lines and `#` comments are skipped, a first line naming the
 * columns is a header, fields may be double-quoted (`""` is a quote). Every malformed line is reported with
 * its number; the caller changes nothing unless there are none.
 */
export function parseMappingCsv(text: string): { mappings: CsvMapping[]; problems: CsvProblem[] } {
  const mappings: CsvMapping[] = [];
  const problems: CsvProblem[] = [];
  const rows = text.split(/\r\n|\n|\r/);
  let seenContent = false;
  for (const [i, raw] of rows.entries()) {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = splitCsvLine(trimmed);
    const first = !seenContent;
    seenContent = true;
    if (fields === null) {
      problems.push({ line, message: 'an opening quote is never closed' });
      continue;
    }
    if (first && fields.length === 2 && /user/i.test(fields[0] ?? '') && /account/i.test(fields[1] ?? '')) continue;
    if (fields.length !== 2) {
      problems.push({ line, message: `expected two columns (your user ID, account ID), found ${fields.length}` });
      continue;
    }
    mappings.push({ line, externalUserId: fields[0] ?? '', accountId: fields[1] ?? '' });
  }
  if (mappings.length + problems.length > MAX_CSV_MAPPINGS) {
    return { mappings: [], problems: [{ line: 0, message: `at most ${MAX_CSV_MAPPINGS} lines per import; split the file` }] };
  }
  if (mappings.length === 0 && problems.length === 0) problems.push({ line: 0, message: 'the file holds no mappings' });
  return { mappings, problems };
}

function splitCsvLine(s: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) return null;
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i];
        i++;
      }
      while (i < s.length && s[i] !== ',') i++;
    } else {
      while (i < s.length && s[i] !== ',') field += s[i++];
    }
    out.push(field.trim());
    if (i >= s.length) return out;
    i++; // the comma
  }
}
