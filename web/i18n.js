// German and English texts, and the API's field messages in German (the API answers in English).
const de = {
  appName: 'Telefonanlage', skip: 'Zum Inhalt springen', nav: 'Hauptnavigation', language: 'Sprache',
  signOut: 'Abmelden', signIn: 'Anmelden', signInTitle: 'Anmelden', login: 'Benutzername oder E-Mail', password: 'Passwort',
  forgot: 'Passwort vergessen?', forgotTitle: 'Passwort zurücksetzen', forgotSent: 'Wenn das Konto eine E-Mail-Adresse hat, wurde ein Link geschickt. Sonst bitten Sie Ihre Administration um einen Link.',
  send: 'Senden', back: 'Zurück', setPasswordTitle: 'Passwort festlegen', newPassword: 'Neues Passwort', repeatPassword: 'Passwort wiederholen',
  passwordHint: 'Mindestens 10 Zeichen.', mismatch: 'Die Passwörter stimmen nicht überein.', passwordSet: 'Das Passwort ist gesetzt. Sie können sich jetzt anmelden.',
  toSignIn: 'Zur Anmeldung', wrongLogin: 'Benutzername oder Passwort ist falsch.', tooMany: 'Zu viele Fehlversuche für dieses Konto. Bitte warten Sie {s} Sekunden.',
  sessionEnded: 'Ihre Sitzung ist abgelaufen. Bitte melden Sie sich neu an.', networkError: 'Der Server ist nicht erreichbar.', forbidden: 'Dafür fehlt Ihnen die Berechtigung.',
  workplaces: 'Arbeitsplätze', groups: 'Gruppen', portals: 'Anywhere-Portale', blocking: 'Sperrprofile', accounts: 'Benutzerkonten', import: 'CSV-Import',
  live: 'Live-Anrufe', callList: 'Anrufliste', mySettings: 'Meine Einstellungen', myVoicebox: 'Sprachbox', myCalls: 'Meine Anrufe',
  search: 'Suchen', searchHint: 'Name, Benutzername, Rufnummer oder Durchwahl', newWorkplace: 'Neuer Arbeitsplatz', name: 'Name', username: 'Benutzername',
  number: 'Rufnummer', extension: 'Durchwahl', status: 'Status', firstName: 'Vorname', lastName: 'Nachname', email: 'E-Mail', group: 'Gruppe', area: 'Bereich',
  none: '— keine —', template: 'Vorlage', languageField: 'Sprache', callerId: 'Rufnummernanzeige', showNumber: 'Rufnummer anzeigen', anonymous: 'Anonym',
  blockingProfile: 'Sperrprofile', blockingProfileOne: 'Sperrprofil', device: 'Endgerät', deviceType: 'Gerätetyp', noDevice: 'kein Endgerät', save: 'Speichern', create: 'Anlegen', delete: 'Löschen', cancel: 'Abbrechen',
  saved: 'Gespeichert.', created: 'Angelegt.', deleted: 'Gelöscht.', confirmDelete: '„{x}“ wirklich löschen?', editWorkplace: 'Arbeitsplatz bearbeiten',
  freeNumbers: 'Freie Rufnummern', devices: 'Endgeräte', addDevice: 'Endgerät hinzufügen', regenerate: 'SIP-Passwort neu erzeugen', sipUser: 'SIP-Benutzer',
  sipPassword: 'SIP-Passwort', shownOnce: 'Nur jetzt sichtbar — bitte notieren oder ins Gerät übernehmen.', inviteEmployee: 'Mitarbeiter einladen',
  invitationLink: 'Einladungslink', copy: 'Kopieren', copied: 'Kopiert.', emailed: 'Der Link wurde auch per E-Mail verschickt.', notEmailed: 'Geben Sie den Link weiter (kein E-Mail-Versand).',
  features: 'Leistungsmerkmale', errorsBelow: 'Bitte korrigieren Sie die markierten Felder.', noResults: 'Keine Treffer.', numberRanges: 'Rufnummernbereiche',
  first: 'Erste Nummer', last: 'Letzte Nummer', timezone: 'Zeitzone', newGroup: 'Neue Gruppe', addRange: 'Bereich hinzufügen', default: 'Standard',
  incoming: 'Eingehend gesperrt (Präfixe)', outgoing: 'Ausgehend gesperrt (Präfixe)', forwarded: 'Weiterleitung gesperrt (Präfixe)', prefixHint: 'Durch Komma getrennt, z. B. 0900, +881',
  newProfile: 'Neues Sperrprofil', newPortal: 'Neues Anywhere-Portal', silentMode: 'Stiller Modus', silentHint: 'Keine Ansagen; *11 holt den Anruf sofort.', pinRequired: 'PIN erforderlich',
  level: 'Ebene', levelCompany: 'Firma', levelGroup: 'Gruppe', displayFirstName: 'Anzeige-Vorname', displayLastName: 'Anzeige-Nachname', on: 'an', off: 'aus',
  role: 'Rolle', admin: 'Administration', employee: 'Mitarbeiter', workplace: 'Arbeitsplatz', invite: 'Einladen', invited: 'eingeladen', active: 'aktiv',
  resetLink: 'Link zum Zurücksetzen', newAccount: 'Konto einladen', csvFile: 'CSV-Datei', csvText: 'CSV-Inhalt', csvHint: 'Kopfzeile: firstName,lastName,email,username,groupId,number (optional extension, language, timezone, templateId).',
  checkImport: 'Importieren', importErrors: 'Nichts wurde gespeichert. Fehler je Zeile:', row: 'Zeile', field: 'Feld', message: 'Meldung', imported: '{n} Arbeitsplätze importiert.',
  forwarding: 'Rufumleitung', fwdAlways: 'Sofort (immer)', fwdBusy: 'Bei besetzt', fwdNoAnswer: 'Bei Nichtmelden', fwdUnreachable: 'Bei Nichterreichbarkeit', enabled: 'aktiv',
  target: 'Ziel', toVoicebox: 'Sprachbox', toNumber: 'Rufnummer', targetNumber: 'Zielrufnummer', ringSeconds: 'Klingeldauer (Sekunden)',
  parallel: 'Paralleles Klingeln', parallelNumbers: 'Rufnummern (bis zu fünf)', answerConfirmation: 'Annahme bestätigen (Taste drücken)', voicebox: 'Sprachbox',
  voiceboxEnabled: 'Sprachbox eingeschaltet', pin: 'Neue PIN', pinRepeat: 'PIN wiederholen', pinHint: '4 bis 8 Ziffern; keine Folgen wie 1234, keine Wiederholungen.', pinSet: 'PIN ist gesetzt', pinNotSet: 'Noch keine PIN',
  pinMismatch: 'Die PINs stimmen nicht überein.', messages: 'Nachrichten', from: 'Von', received: 'Eingegangen', duration: 'Dauer', play: 'Anhören', noMessages: 'Keine Nachrichten.',
  statusNew: 'neu', statusHeard: 'gehört', statusSaved: 'gespeichert', to: 'An', direction: 'Richtung', outcome: 'Ergebnis', start: 'Beginn', inbound: 'eingehend', outbound: 'ausgehend',
  noCalls: 'Keine Anrufe.', liveHint: 'Neue Ereignisse erscheinen hier automatisch.', noLive: 'Gerade keine Anrufe.', connecting: 'Verbinde …', connected: 'Verbunden.', disconnected: 'Verbindung getrennt, neuer Versuch …',
  exportCsv: 'Als CSV herunterladen', moreCalls: 'Weitere laden', event: 'Ereignis', time: 'Zeit', settingsOf: 'Einstellungen von {x}', notAvailable: 'Diese Funktion ist auf dem Server noch nicht verfügbar.',
  loading: 'Lädt …', pending: 'ausstehend', failed: 'fehlgeschlagen',
};
const en = {
  appName: 'Phone system', skip: 'Skip to content', nav: 'Main navigation', language: 'Language',
  signOut: 'Sign out', signIn: 'Sign in', signInTitle: 'Sign in', login: 'Username or e-mail', password: 'Password',
  forgot: 'Forgot your password?', forgotTitle: 'Reset password', forgotSent: 'If the account has an e-mail address, a link has been sent. Otherwise ask your administrator for a link.',
  send: 'Send', back: 'Back', setPasswordTitle: 'Set your password', newPassword: 'New password', repeatPassword: 'Repeat password',
  passwordHint: 'At least 10 characters.', mismatch: 'The passwords do not match.', passwordSet: 'Your password is set. You can sign in now.',
  toSignIn: 'Go to sign-in', wrongLogin: 'Wrong username or password.', tooMany: 'Too many failed sign-ins for this account. Please wait {s} seconds.',
  sessionEnded: 'Your session has ended. Please sign in again.', networkError: 'The server cannot be reached.', forbidden: 'You are not allowed to do this.',
  workplaces: 'Workplaces', groups: 'Groups', portals: 'Anywhere portals', blocking: 'Blocking profiles', accounts: 'User accounts', import: 'CSV import',
  live: 'Live calls', callList: 'Call list', mySettings: 'My settings', myVoicebox: 'Voicebox', myCalls: 'My calls',
  search: 'Search', searchHint: 'Name, username, number or extension', newWorkplace: 'New workplace', name: 'Name', username: 'Username',
  number: 'Number', extension: 'Extension', status: 'Status', firstName: 'First name', lastName: 'Last name', email: 'E-mail', group: 'Group', area: 'Area',
  none: '— none —', template: 'Template', languageField: 'Language', callerId: 'Caller ID', showNumber: 'Show my number', anonymous: 'Anonymous',
  blockingProfile: 'Blocking profiles', blockingProfileOne: 'Blocking profile', device: 'Device', deviceType: 'Device type', noDevice: 'no device', save: 'Save', create: 'Create', delete: 'Delete', cancel: 'Cancel',
  saved: 'Saved.', created: 'Created.', deleted: 'Deleted.', confirmDelete: 'Really delete "{x}"?', editWorkplace: 'Edit workplace',
  freeNumbers: 'Free numbers', devices: 'Devices', addDevice: 'Add device', regenerate: 'Regenerate SIP password', sipUser: 'SIP user',
  sipPassword: 'SIP password', shownOnce: 'Shown only now — note it or enter it into the device.', inviteEmployee: 'Invite employee',
  invitationLink: 'Invitation link', copy: 'Copy', copied: 'Copied.', emailed: 'The link was also sent by e-mail.', notEmailed: 'Pass the link on (no e-mail was sent).',
  features: 'Call features', errorsBelow: 'Please correct the marked fields.', noResults: 'No results.', numberRanges: 'Number ranges',
  first: 'First number', last: 'Last number', timezone: 'Time zone', newGroup: 'New group', addRange: 'Add range', default: 'default',
  incoming: 'Blocked incoming (prefixes)', outgoing: 'Blocked outgoing (prefixes)', forwarded: 'Blocked forwarding (prefixes)', prefixHint: 'Comma separated, e.g. 0900, +881',
  newProfile: 'New blocking profile', newPortal: 'New Anywhere portal', silentMode: 'Silent mode', silentHint: 'No announcements; *11 pulls the call at once.', pinRequired: 'PIN required',
  level: 'Level', levelCompany: 'Company', levelGroup: 'Group', displayFirstName: 'Display first name', displayLastName: 'Display last name', on: 'on', off: 'off',
  role: 'Role', admin: 'Admin', employee: 'Employee', workplace: 'Workplace', invite: 'Invite', invited: 'invited', active: 'active',
  resetLink: 'Reset link', newAccount: 'Invite an account', csvFile: 'CSV file', csvText: 'CSV content', csvHint: 'Header: firstName,lastName,email,username,groupId,number (optional extension, language, timezone, templateId).',
  checkImport: 'Import', importErrors: 'Nothing was saved. Errors per row:', row: 'Row', field: 'Field', message: 'Message', imported: '{n} workplaces imported.',
  forwarding: 'Call forwarding', fwdAlways: 'Always', fwdBusy: 'When busy', fwdNoAnswer: 'No answer', fwdUnreachable: 'When unreachable', enabled: 'on',
  target: 'Target', toVoicebox: 'Voicebox', toNumber: 'Number', targetNumber: 'Target number', ringSeconds: 'Ring time (seconds)',
  parallel: 'Parallel ringing', parallelNumbers: 'Numbers (up to five)', answerConfirmation: 'Answer confirmation (press a key)', voicebox: 'Voicebox',
  voiceboxEnabled: 'Voicebox on', pin: 'New PIN', pinRepeat: 'Repeat PIN', pinHint: '4 to 8 digits; no runs like 1234, no repeats.', pinSet: 'PIN is set', pinNotSet: 'No PIN yet',
  pinMismatch: 'The PINs do not match.', messages: 'Messages', from: 'From', received: 'Received', duration: 'Duration', play: 'Listen', noMessages: 'No messages.',
  statusNew: 'new', statusHeard: 'heard', statusSaved: 'saved', to: 'To', direction: 'Direction', outcome: 'Outcome', start: 'Start', inbound: 'inbound', outbound: 'outbound',
  noCalls: 'No calls.', liveHint: 'New events appear here automatically.', noLive: 'No calls right now.', connecting: 'Connecting …', connected: 'Connected.', disconnected: 'Disconnected, retrying …',
  exportCsv: 'Download as CSV', moreCalls: 'Load more', event: 'Event', time: 'Time', settingsOf: 'Settings of {x}', notAvailable: 'This feature is not available on the server yet.',
  loading: 'Loading …', pending: 'pending', failed: 'failed',
};

/** The API's English messages → German (regex, replacement). Unknown messages stay English. */
const messagesDe = [
  [/^is required$/, 'ist ein Pflichtfeld'],
  [/^must be at least (\d+) characters long$/, 'muss mindestens $1 Zeichen lang sein'],
  [/^must be at most (\d+) characters long(.*)$/, 'darf höchstens $1 Zeichen lang sein$2'],
  [/^must not contain umlauts or ß$/, 'darf keine Umlaute oder ß enthalten'],
  [/^must be lowercase$/, 'muss aus Kleinbuchstaben bestehen'],
  [/^may contain only lowercase letters a-z, digits and the characters _ - \.$/, 'darf nur Kleinbuchstaben a-z, Ziffern und die Zeichen _ - . enthalten'],
  [/^must start and end with a letter or digit$/, 'muss mit einem Buchstaben oder einer Ziffer beginnen und enden'],
  [/^each of _ - \. needs a letter or digit on both sides$/, 'vor und nach jedem Sonderzeichen muss ein Buchstabe oder eine Ziffer stehen'],
  [/^must be an email address like name@example\.com$/, 'muss eine E-Mail-Adresse wie name@example.com sein'],
  [/^must not contain control characters or line breaks$/, 'darf keine Steuerzeichen oder Zeilenumbrüche enthalten'],
  [/^(\w+) (.+) is already taken$/, '$2 ist bereits vergeben'],
  [/^is not inside the number ranges of group "(.*)"$/, 'liegt nicht in den Rufnummernbereichen der Gruppe „$1“'],
  [/^must contain only digits$/, 'darf nur Ziffern enthalten'],
  [/^must have (\d+) to (\d+) digits$/, 'muss $1 bis $2 Ziffern haben'],
  [/^must not repeat a single digit.*$/, 'darf nicht aus einer einzigen wiederholten Ziffer bestehen (wie 1111)'],
  [/^must not repeat a group of digits.*$/, 'darf keine wiederholte Zifferngruppe sein (wie 1212)'],
  [/^must not be an ascending or descending run.*$/, 'darf keine auf- oder absteigende Folge sein (wie 1234)'],
  [/^must not contain the extension or the extension reversed$/, 'darf die Durchwahl (auch rückwärts) nicht enthalten'],
  [/^must not be the end of the phone number$/, 'darf nicht das Ende der Rufnummer sein'],
  [/^must not be a previous PIN or a previous PIN reversed$/, 'darf keine frühere PIN (auch rückwärts) sein'],
  [/^must not contain the username or e-mail address$/, 'darf weder Benutzername noch E-Mail-Adresse enthalten'],
  [/^must not repeat a single character$/, 'darf nicht aus einem einzigen wiederholten Zeichen bestehen'],
  [/^this link is invalid, used or expired$/, 'Dieser Link ist ungültig, schon benutzt oder abgelaufen'],
  [/^no such (.+) in this company$/, 'gibt es in dieser Firma nicht'],
  [/^unknown field$/, 'unbekanntes Feld'],
  [/^must be a number$/, 'muss eine Zahl sein'],
  [/^not a valid phone number.*$/, 'ist keine gültige Rufnummer'],
  [/^is required for an employee$/, 'ist für Mitarbeiter erforderlich'],
];

let lang = 'de';
export function setLanguage(l) {
  lang = l === 'en' ? 'en' : 'de';
  document.documentElement.lang = lang;
  try { localStorage.setItem('pbx-lang', lang); } catch { /* private mode */ }
}
export function initialLanguage() {
  let stored;
  try { stored = localStorage.getItem('pbx-lang'); } catch { stored = null; }
  if (stored === 'de' || stored === 'en') return stored;
  return (navigator.languages || [navigator.language || 'de']).some((l) => l.toLowerCase().startsWith('de')) ? 'de' : 'en';
}
export function language() { return lang; }
export function t(key, vars = {}) {
  const text = (lang === 'en' ? en : de)[key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}
/** An API message in the current language. */
export function tm(message) {
  if (lang !== 'de' || typeof message !== 'string') return message;
  for (const [re, out] of messagesDe) if (re.test(message)) return message.replace(re, out);
  return message;
}
