// CSV as RFC 4180 says: fields separated by commas, records by CRLF, a field that holds a
// comma, a double quote, CR or LF enclosed in double quotes with its quotes doubled. A missing
// value (null) is an empty field.

export type CsvValue = string | number | null;

export function csvField(value: CsvValue): string {
  if (value === null) return "";
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}
