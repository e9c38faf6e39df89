// Public and package memberwise initialisers (and PascalCase CodingKeys): each module gets one generated file, written by
// MemberwiseInitGenerator into the plugin's work directory at build time from every struct of the module
// that says `// memberwise-init: public` (or `package`). It is never checked in and never drifts from the
// structs' properties (see WhatIfMemberwise/MemberwiseInitializable.swift).
//
// The command reads all of the module's Swift files, so that a marker added to any of them is seen at
// the next build (a plugin is not asked again when only a file's contents change).
import PackagePlugin

@main
struct MemberwiseInit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        let inputs = module.sourceFiles(withSuffix: "swift").map(\.url)
        guard !inputs.isEmpty else { return [] }
        let output = context.pluginWorkDirectoryURL.appending(path: "\(module.name)+Memberwise.swift")
        return [
            .buildCommand(
                displayName: "Generating the memberwise initialisers of \(module.name)",
                executable: try context.tool(named: "MemberwiseInitGenerator").url,
                arguments: [output.path] + inputs.map(\.path), inputFiles: inputs, outputFiles: [output])
        ]
    }
}
