/// A struct whose public or package memberwise initialiser is generated at build time.
///
/// Swift synthesises a struct's memberwise initialiser as internal only. A struct that says
/// `// memberwise-init: public` (or `package`) in its body conforms to this protocol, and
/// Plugins/MemberwiseInit declares on `MemberwiseInitializable where Self ==` that struct an initialiser
/// with the parameters of the synthesised one, which it calls. The struct's property list is then the one
/// place its fields are written, and the initialiser can never disagree with it.
public protocol MemberwiseInitializable {}
