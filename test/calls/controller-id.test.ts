/**
 * The default CONTROLLER_ID (src/calls/controller.ts): the ARI application on its Asterisk —
 * the same for the next process of that controller wherever it starts, different for another
 * Asterisk or another application.
 */
import { describe, expect, it } from 'vitest';
import { defaultControllerId } from '../../src/calls/controller.js';

describe('defaultControllerId', () => {
  it.each([
    ['http://127.0.0.1:8088', 'pbx', 'pbx@127.0.0.1:8088'],
    ['http://asterisk:8088/', 'pbx', 'pbx@asterisk:8088'],
    ['https://ast-2.example.net/ari', 'pbx', 'pbx@ast-2.example.net'],
    ['http://asterisk:8088', 'pbx-b', 'pbx-b@asterisk:8088'],
  ])('%s, app %s → %s', (url, app, id) => {
    expect(defaultControllerId(url, app)).toBe(id);
  });
});
