/// Every job kind whatifd runs. The capabilities (backup, expiry sweep, migration, maintenance) add
/// theirs here as they land.
public enum JobKinds {
    public static var all: [JobKind] { [] }
}
