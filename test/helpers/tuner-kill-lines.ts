// The lines the kill victim (tuner-victim.ts) uses; shared without importing the victim itself.
export const LINES_FOR_KILL = { start: 17, key: 27, ptt: 23 };
