/** Request body limits: JSON bodies are small; a CSV import of a few thousand rows is not. */
export const JSON_BODY_LIMIT_BYTES = 1024 * 1024;
export const CSV_BODY_LIMIT_BYTES = 5 * 1024 * 1024;
