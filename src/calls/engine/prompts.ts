/**
 * Every prompt the call flows play: one catalogue, prompt id → text per language.
 * `npm run sounds` renders it into sounds/<lang>/pbx/<id>.wav (8 kHz 16-bit mono), which
 * Asterisk plays as `sound:pbx/<id>` with the channel language (`lang` of the play request).
 * Numbers and digits are spoken by composing `digit-N` prompts (see speakDigits).
 * Adding a prompt: add it here, run `npm run sounds`, commit the WAVs.
 */
import type { Language } from '../../domain/model.js';

export const PROMPTS = {
  // Anywhere portal
  'portal-welcome': {
    de: 'Anywhere Portal. Drücken Sie Stern eins eins, um Ihr Gespräch zu übernehmen, oder wählen Sie eine Rufnummer, gefolgt von der Raute.',
    en: 'Anywhere portal. Press star one one to take over your call, or dial a number followed by the hash key.',
  },
  'enter-pin': {
    de: 'Bitte geben Sie Ihre PIN ein, gefolgt von der Raute.',
    en: 'Please enter your PIN, followed by the hash key.',
  },
  'pin-wrong': { de: 'Die Eingabe war nicht korrekt.', en: 'That was not correct.' },
  'access-denied': {
    de: 'Der Zugang ist nicht möglich. Auf Wiederhören.',
    en: 'Access is not possible. Goodbye.',
  },
  'no-running-call': {
    de: 'Sie haben kein Gespräch, das übernommen werden kann.',
    en: 'You have no call that can be taken over.',
  },
  'number-blocked': {
    de: 'Diese Rufnummer kann nicht gewählt werden.',
    en: 'This number cannot be dialled.',
  },
  // a call-through the fraud guard refused (limits, destination class, lock); a blocking
  // profile's refusal keeps 'number-blocked'
  'call-through-refused': {
    de: 'Dieses Ziel ist über das Anywhere Portal zurzeit nicht erlaubt.',
    en: 'This destination is not allowed through the Anywhere portal at the moment.',
  },
  // a call-through to 110/112: not placed through the business line, which would show the
  // office's number (and so its address) for a caller who is somewhere else
  'emergency-dial-directly': {
    de: 'Notrufe wählen Sie bitte direkt von Ihrem Mobiltelefon.',
    en: 'Please dial emergency calls directly from your mobile phone.',
  },
  'invalid-input': { de: 'Ungültige Eingabe.', en: 'Invalid input.' },
  goodbye: { de: 'Auf Wiederhören.', en: 'Goodbye.' },
  // answer confirmation on parallel-ringing legs
  'confirm-call': {
    de: 'Sie haben einen Anruf für Ihren Arbeitsplatz. Drücken Sie die eins, um ihn anzunehmen.',
    en: 'You have a call for your workplace. Press one to accept it.',
  },
  // voicebox, caller side
  // the default greeting: short, so that the tone comes within a few seconds (a caller in a
  // hurry hangs up during a long one); a personal greeting replaces it
  'vb-unavailable': {
    de: 'Ihr Gesprächspartner ist nicht erreichbar. Bitte sprechen Sie nach dem Ton.',
    en: 'The person you called is not available. Please speak after the tone.',
  },
  beep: { de: '[tone]', en: '[tone]' },
  // voicebox, owner side
  'vb-enter-pin': {
    de: 'Willkommen bei Ihrer Sprachbox. Bitte geben Sie Ihre PIN ein, gefolgt von der Raute.',
    en: 'Welcome to your voicebox. Please enter your PIN, followed by the hash key.',
  },
  'vb-you-have': { de: 'Sie haben', en: 'You have' },
  'vb-new-messages': { de: 'neue Nachrichten.', en: 'new messages.' },
  'vb-saved-messages': { de: 'gespeicherte Nachrichten.', en: 'saved messages.' },
  'vb-no-messages': { de: 'Sie haben keine Nachrichten.', en: 'You have no messages.' },
  'vb-main-menu': {
    de: 'Drücken Sie die eins, um Ihre Nachrichten abzuhören, die zwei, um eine Ansage aufzunehmen.',
    en: 'Press one to listen to your messages, two to record a greeting.',
  },
  'vb-message-from': { de: 'Nachricht von', en: 'Message from' },
  'vb-message-menu': {
    de: 'Drücken Sie die eins zum Wiederholen, die zwei zum Speichern, die drei zum Löschen, die Raute für die nächste Nachricht.',
    en: 'Press one to repeat, two to save, three to delete, hash for the next message.',
  },
  'vb-message-saved': { de: 'Nachricht gespeichert.', en: 'Message saved.' },
  'vb-message-deleted': { de: 'Nachricht gelöscht.', en: 'Message deleted.' },
  'vb-no-more-messages': { de: 'Keine weiteren Nachrichten.', en: 'No more messages.' },
  'vb-record-greeting': {
    de: 'Sprechen Sie Ihre Ansage nach dem Signalton. Drücken Sie die Raute, wenn Sie fertig sind.',
    en: 'Record your greeting after the tone. Press the hash key when you are done.',
  },
  'vb-greeting-saved': { de: 'Ihre Ansage wurde gespeichert.', en: 'Your greeting has been saved.' },
  'vb-locked': {
    de: 'Ihre PIN ist gesperrt. Bitte wenden Sie sich an Ihren Administrator.',
    en: 'Your PIN is locked. Please contact your administrator.',
  },
  // digits, composed to speak numbers
  'digit-0': { de: 'null', en: 'zero' },
  'digit-1': { de: 'eins', en: 'one' },
  'digit-2': { de: 'zwei', en: 'two' },
  'digit-3': { de: 'drei', en: 'three' },
  'digit-4': { de: 'vier', en: 'four' },
  'digit-5': { de: 'fünf', en: 'five' },
  'digit-6': { de: 'sechs', en: 'six' },
  'digit-7': { de: 'sieben', en: 'seven' },
  'digit-8': { de: 'acht', en: 'eight' },
  'digit-9': { de: 'neun', en: 'nine' },
  'digit-plus': { de: 'plus', en: 'plus' },
} as const satisfies Record<string, Record<Language, string>>;

export type PromptId = keyof typeof PROMPTS;

/** The ARI media URI of a prompt; Asterisk picks the language from the play request's `lang`. */
export function promptMedia(id: PromptId): string {
  return `sound:pbx/${id}`;
}

/** Media URIs that speak a number digit by digit ("+49 30..." → plus, four, nine, ...). */
export function speakDigits(digits: string): string[] {
  const out: string[] = [];
  for (const ch of digits) {
    if (ch >= '0' && ch <= '9') out.push(promptMedia(`digit-${ch}` as PromptId));
    else if (ch === '+') out.push(promptMedia('digit-plus'));
  }
  return out;
}
