// The i-th simulated device's id: one rule shared by the fleet process and the controller side.
export const fleetId = (prefix: string, i: number): string => `${prefix}-${String(i).padStart(4, '0')}`;
