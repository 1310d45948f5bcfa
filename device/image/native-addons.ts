// The native addons, read from the one list (native-addons.json at the repository root; see its
// $comment for who uses it).
import list from '../../native-addons.json' with { type: 'json' };

export const NATIVE_ADDONS: readonly string[] = list.addons;
