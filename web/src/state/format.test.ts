import { describe, expect, it } from 'vitest';
import { age, axisTimes, clock, duration, heartbeatText, ports, rate, since, timesNormal, ttlLeft } from './format';

describe('format', () => {
  const now = Date.parse('2026-11-30T01:00:00.000Z');
  it('durations', () => {
    expect(duration(0)).toBe('0s');
    expect(duration(75)).toBe('1m 15s');
    expect(duration(7300)).toBe('2h 1m');
    expect(duration(90000)).toBe('1d 1h');
    expect(since('2026-11-30T00:59:00.000Z', now)).toBe('1m 0s');
    expect(since(null, now)).toBe('–');
  });
  it('a heartbeat shows "on time" while the console says so, else how long ago', () => {
    const hb = '2026-11-30T00:59:00.000Z'; // a minute old: not sent again for its time alone
    expect(heartbeatText({ online: true, heartbeat_late: false, last_heartbeat: hb }, now)).toBe('on time');
    expect(heartbeatText({ online: true, heartbeat_late: true, last_heartbeat: hb }, now)).toBe('1m 0s ago');
    expect(heartbeatText({ online: false, heartbeat_late: false, last_heartbeat: hb }, now)).toBe('1m 0s ago');
    expect(heartbeatText({ online: false, last_heartbeat: null }, now)).toBe('never');
    // An older console says nothing of lateness: its times move with each heartbeat.
    expect(heartbeatText({ online: true, last_heartbeat: hb }, now)).toBe('1m 0s ago');
  });
  it('ages change once a minute past the first', () => {
    expect(age(42)).toBe('42s');
    expect(age(61)).toBe('1m');
    expect(age(119)).toBe('1m');
    expect(age(7300)).toBe('2h 1m');
  });
  it('TTL countdown', () => {
    expect(ttlLeft(null, now)).toBe('permanent');
    expect(ttlLeft('2026-11-30T01:10:00.000Z', now)).toBe('10m 0s');
    expect(ttlLeft('2026-11-30T00:10:00.000Z', now)).toBe('expired');
  });
  it('clock, rate, ports', () => {
    expect(clock('2026-11-30T00:53:20.123Z', now)).toBe('00:53:20');
    expect(clock('2026-11-29T00:53:20.123Z', now)).toBe('11-29 00:53');
    expect(rate(1234.5)).toBe('1.2k/s');
    expect(rate(12.4)).toBe('12/s');
    expect(rate(null)).toBe('–');
    expect(ports([80, 443, 8080, 8443, 22])).toBe('80, 443, 8080 +2');
    expect(ports([])).toBe('any');
  });
  it('a port flood’s rate against its normal (its severity rises with it)', () => {
    expect(timesNormal(22000, 40)).toBe('550× normal');
    expect(timesNormal(150000, 40)).toBe('3,750× normal');
    expect(timesNormal(9000, 5000)).toBe('1.8× normal');
    expect(timesNormal(800, 0)).toBe('');
  });
  it('axis times never repeat a label when ticks are under a minute apart', () => {
    const m = Date.parse('2026-11-30T20:14:00.000Z') / 1000;
    expect(axisTimes([m, m + 60, m + 120])).toEqual(['20:14', '20:15', '20:16']);
    const half = axisTimes([m, m + 30, m + 60, m + 90]);
    expect(half).toEqual(['20:14:00', '20:14:30', '20:15:00', '20:15:30']);
    expect(new Set(half).size).toBe(half.length);
  });
});
