import Foundation
import Testing

@testable import NuGetCore

struct NuspecTests {
    static func nuspec(namespace: String?, metadata: String, attributes: String = "") -> Data {
        let ns = namespace.map { " xmlns=\"\($0)\"" } ?? ""
        return Data(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><package\(ns)><metadata\(attributes)>\(metadata)</metadata></package>"
                .utf8)
    }

    @Test(
        "every namespace in the wild",
        arguments: [
            nil, "http://schemas.microsoft.com/packaging/2010/07/nuspec.xsd",
            "http://schemas.microsoft.com/packaging/2011/08/nuspec.xsd",
            "http://schemas.microsoft.com/packaging/2011/10/nuspec.xsd",
            "http://schemas.microsoft.com/packaging/2012/06/nuspec.xsd",
            "http://schemas.microsoft.com/packaging/2013/01/nuspec.xsd",
            "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd", "urn:something-else",
        ])
    func namespaces(ns: String?) throws {
        let n = try Nuspec(
            data: Self.nuspec(namespace: ns, metadata: "<id>A.B</id><version>1.0</version><authors>x</authors>"))
        #expect(n.id == "A.B")
        #expect(n.version.normalizedString == "1.0.0")
        #expect(n.versionText == "1.0")
        #expect(n.authors == "x")
    }

    @Test("a UTF-8 byte order mark is accepted")
    func bom() throws {
        var data = Data([0xEF, 0xBB, 0xBF])
        data.append(Self.nuspec(namespace: nil, metadata: "<id>A</id><version>1.0.0</version>"))
        #expect(try Nuspec(data: data).id == "A")
    }

    @Test("UTF-16 nuspecs are read, and a DOCTYPE in one is refused")
    func utf16() throws {
        let xml =
            "<?xml version=\"1.0\" encoding=\"utf-16\"?><package><metadata><id>U</id><version>1.0</version></metadata></package>"
        var le = Data([0xFF, 0xFE])
        le.append(xml.data(using: .utf16LittleEndian)!)
        #expect(try Nuspec(data: le).id == "U")
        let doctype =
            "<?xml version=\"1.0\" encoding=\"utf-16\"?><!DOCTYPE package [<!ENTITY x \"U\">]><package><metadata><id>&x;</id><version>1.0</version></metadata></package>"
        var be = Data([0xFE, 0xFF])
        be.append(doctype.data(using: .utf16BigEndian)!)
        #expect(throws: NuspecError.doctype) { try Nuspec(data: be) }
    }

    @Test("prefixed namespace elements are matched by local name")
    func prefixed() throws {
        let xml = """
            <?xml version="1.0"?><nu:package xmlns:nu="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">\
            <nu:metadata><nu:id>P</nu:id><nu:version>2.0</nu:version></nu:metadata></nu:package>
            """
        let n = try Nuspec(data: Data(xml.utf8))
        #expect(n.id == "P")
    }

    @Test("flat dependencies form one group; groups make flat ones ignored")
    func dependencies() throws {
        let flat = try Nuspec(
            data: Self.nuspec(
                namespace: nil,
                metadata:
                    "<id>A</id><version>1.0</version><dependencies><dependency id=\"B\" version=\"1.0\"/><dependency id=\"C\"/></dependencies>"
            ))
        #expect(flat.dependencyGroups.count == 1)
        #expect(flat.dependencyGroups[0].targetFramework == nil)
        #expect(flat.dependencyGroups[0].dependencies.map(\.range.normalizedString) == ["[1.0.0, )", "(, )"])

        let grouped = try Nuspec(
            data: Self.nuspec(
                namespace: nil,
                metadata: """
                    <id>A</id><version>1.0</version><dependencies><dependency id="Ignored"/>\
                    <group targetFramework=".NETStandard2.0"><dependency id="B" version="[1.0,2.0)" exclude="Build"/></group>\
                    <group><dependency id="C"/></group><group targetFramework="net45"/></dependencies>
                    """))
        #expect(grouped.dependencyGroups.map(\.targetFramework) == [".NETStandard2.0", nil, "net45"])
        #expect(grouped.dependencyGroups[0].dependencies[0].exclude == "Build")
        #expect(grouped.dependencyGroups[2].dependencies.isEmpty)
    }

    @Test("a dependency without an id is refused")
    func dependencyWithoutId() {
        #expect(throws: NuspecError.dependencyWithoutId(group: nil)) {
            try Nuspec(
                data: Self.nuspec(
                    namespace: nil,
                    metadata:
                        "<id>A</id><version>1.0</version><dependencies><dependency version=\"1.0\"/></dependencies>"))
        }
    }

    @Test("metadata fields")
    func fields() throws {
        let n = try Nuspec(
            data: Self.nuspec(
                namespace: nil,
                metadata: """
                    <id>A</id><version>1.0.0-beta.1+sha</version><title> T </title><tags>a b,c;d  e</tags>\
                    <license type="expression">MIT</license><requireLicenseAcceptance>True</requireLicenseAcceptance>\
                    <developmentDependency>true</developmentDependency><serviceable>true</serviceable>\
                    <packageTypes><packageType name="DotnetTool"/><packageType name="Dependency" version="1.0"/></packageTypes>\
                    <repository type="git" url="https://x/y.git" commit="abc"/><icon>images\\icon.png</icon><readme>README.md</readme>\
                    <frameworkAssemblies><frameworkAssembly assemblyName="System.Xml" targetFramework="net40"/></frameworkAssemblies>
                    """,
                attributes: " minClientVersion=\"2.12\""))
        #expect(n.title == "T")
        #expect(n.tags == ["a", "b", "c", "d", "e"])
        #expect(n.license == .init(kind: .expression, text: "MIT", version: nil))
        #expect(n.requireLicenseAcceptance && n.developmentDependency && n.serviceable)
        #expect(n.minClientVersion == "2.12")
        #expect(n.packageTypes.map(\.name) == ["DotnetTool", "Dependency"])
        #expect(n.repository?.commit == "abc")
        #expect(n.icon == "images\\icon.png")
        #expect(n.frameworkAssemblies.first?.assemblyName == "System.Xml")
        #expect(n.isSemVer2)
        #expect(n.version.fullString == "1.0.0-beta.1+sha")
    }

    @Test("a SemVer 1.0.0 version with a SemVer 2.0.0 dependency is SemVer 2.0.0")
    func semVer2ByDependency() throws {
        let n = try Nuspec(
            data: Self.nuspec(
                namespace: nil,
                metadata:
                    "<id>A</id><version>1.0</version><dependencies><dependency id=\"B\" version=\"[1.0.0-rc.1, )\"/></dependencies>"
            ))
        #expect(n.isSemVer2)
    }

    @Test(
        "broken nuspecs",
        arguments: [
            ("<package><metadata><id>A</id></metadata></package>", NuspecError.missingVersion),
            ("<package><metadata><version>1.0</version></metadata></package>", .missingId),
            ("<package><metadata><id>A B</id><version>1.0</version></metadata></package>", .invalidId("A B")),
            ("<package><metadata><id>A</id><version>1.0.x</version></metadata></package>", .invalidVersion("1.0.x")),
            ("<package><other/></package>", .noMetadata),
            (
                "<?xml version=\"1.0\"?><!DOCTYPE package [<!ENTITY x \"y\">]><package><metadata><id>&x;</id><version>1.0</version></metadata></package>",
                .doctype
            ),
        ])
    func broken(xml: String, expected: NuspecError) {
        #expect(throws: expected) { try Nuspec(data: Data(xml.utf8)) }
    }

    @Test("malformed XML names the line")
    func malformed() {
        do {
            _ = try Nuspec(data: Data("<package>\n<metadata>\n<id>A</id>\n</package>".utf8))
            Issue.record("should have thrown")
        } catch {
            guard case .malformed(let line, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(line >= 3)
        }
    }
}
