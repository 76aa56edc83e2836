import Foundation
import ShelfTestSupport
import Testing

/// Symbol packages through the real binary: `.snupkg` files beside the packages become a symbol
/// store (SSQP) and a file beside each package; the key is computed here a second time, in
/// Python, from the DLL and from the PDB; hostile and mismatched symbol packages are refused, one
/// line each, with the package still served; changes cost their id; `shelf serve` answers keys in
/// any case; `shelf validate` checks the store.
@Suite(.serialized)
struct SymbolsTests {
    static let baseURL = "https://feed.example.com/nuget/"

    /// Makes, from the TestData pair: `Known.Id 1.0.0` (its DLL's CodeView GUID and its PDB's id
    /// set to a known GUID), and hostile symbol packages beside good packages. Prints the keys
    /// Python computes from each DLL and each PDB, one `key <side> <entry> <key>` line each.
    static let maker = #"""
        import io, os, struct, sys, uuid, zipfile
        src, out = sys.argv[1], sys.argv[2]
        nu = zipfile.ZipFile(src + "/TestData.1.2.3.nupkg"); sn = zipfile.ZipFile(src + "/TestData.1.2.3.snupkg")
        dll = bytearray(nu.read("lib/net5.0/TestData.dll")); pdb = bytearray(sn.read("lib/net5.0/TestData.pdb"))

        def pe_key(data):
            pe = struct.unpack_from("<I", data, 0x3c)[0]
            magic = struct.unpack_from("<H", data, pe + 24)[0]
            nsec = struct.unpack_from("<H", data, pe + 6)[0]; opt = struct.unpack_from("<H", data, pe + 20)[0]
            dd = pe + 24 + (96 if magic == 0x10b else 112)
            rva, size = struct.unpack_from("<II", data, dd + 6 * 8)
            secs = pe + 24 + opt
            for i in range(nsec):
                vsize, va, rawsize, rawptr = struct.unpack_from("<IIII", data, secs + i * 40 + 8)
                if va <= rva < va + max(vsize, rawsize): off = rva - va + rawptr
            for i in range(size // 28):
                e = struct.unpack_from("<IIHHIIII", data, off + i * 28)
                if e[4] == 2:
                    d = bytes(data[e[7]:e[7] + e[5]])
                    name = d[24:].split(b"\0")[0].decode().replace("\\", "/").split("/")[-1].lower()
                    return "%s/%sffffffff/%s" % (name, uuid.UUID(bytes_le=d[4:20]).hex, name), e[7] + 4

        def pdb_key(data, name):
            vlen = struct.unpack_from("<I", data, 12)[0]; p = 16 + vlen
            n = struct.unpack_from("<H", data, p + 2)[0]; p += 4
            for _ in range(n):
                o, s = struct.unpack_from("<II", data, p); p += 8
                nm = bytes(data[p:data.index(b"\0", p)]); p += ((len(nm) + 4) // 4) * 4
                if nm == b"#Pdb":
                    return "%s/%sffffffff/%s" % (name.lower(), uuid.UUID(bytes_le=bytes(data[o:o + 16])).hex, name.lower()), o

        def nuspec(pid, version, symbols):
            types = '<packageTypes><packageType name="SymbolsPackage" /></packageTypes>' if symbols else ""
            return ('<?xml version="1.0" encoding="utf-8"?><package xmlns="http://schemas.microsoft.com/packaging/'
                    '2013/05/nuspec.xsd"><metadata><id>%s</id><version>%s</version><authors>t</authors>'
                    '<description>d</description>%s</metadata></package>' % (pid, version, types))

        def write(name, entries):
            with zipfile.ZipFile(out + "/" + name, "w", zipfile.ZIP_DEFLATED) as z:
                for n, d in entries: z.writestr(n, d)

        # Known.Id: the same DLL and PDB with one known GUID written into both.
        known = uuid.UUID("0123abcd-4567-89ef-0123-456789abcdef")
        _, at_dll = pe_key(dll); _, at_pdb = pdb_key(pdb, "Known.Id.pdb")
        kdll = bytearray(dll); kdll[at_dll:at_dll + 16] = known.bytes_le
        kpdb = bytearray(pdb); kpdb[at_pdb:at_pdb + 16] = known.bytes_le
        write("Known.Id.1.0.0.nupkg", [("Known.Id.nuspec", nuspec("Known.Id", "1.0.0", False)),
                                       ("lib/net5.0/Known.Id.dll", bytes(kdll))])
        write("Known.Id.1.0.0.snupkg", [("Known.Id.nuspec", nuspec("Known.Id", "1.0.0", True)),
                                        ("lib/net5.0/Known.Id.pdb", bytes(kpdb))])
        print("known known.id.pdb/%sffffffff/known.id.pdb" % known.hex)

        # Hostile ones, each beside a good package of its own id.
        for pid in ["Claims.Other", "Bomb.Sym", "Climbs.Out"]:
            write(pid + ".1.0.0.nupkg", [(pid + ".nuspec", nuspec(pid, "1.0.0", False)),
                                         ("lib/net5.0/%s.dll" % pid, bytes(dll))])
        # A PDB that claims another DLL's id: Known.Id's PDB under Claims.Other's name.
        write("Claims.Other.1.0.0.snupkg", [("Claims.Other.nuspec", nuspec("Claims.Other", "1.0.0", True)),
                                            ("lib/net5.0/Claims.Other.pdb", bytes(kpdb))])
        # An entry climbing out of the folder.
        write("Climbs.Out.1.0.0.snupkg", [("Climbs.Out.nuspec", nuspec("Climbs.Out", "1.0.0", True)),
                                          ("../../Climbs.Out.pdb", bytes(pdb))])
        # The keys of the real pair, from each side.
        print("pe " + pe_key(dll)[0])
        print("pdb " + pdb_key(pdb, "TestData.pdb")[0])
        """#

    @Test(
        "a symbol store from .snupkg files: keys from the DLL and the PDB agree with the path served; hostile ones refused, the package kept; changes cost their id; any case served; validate checks it"
    )
    func symbolStore() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        for name in [
            "TestData.1.2.3.nupkg", "TestData.1.2.3.snupkg", "Composable.Core.3.4.0.nupkg",
            "Composable.Core.3.4.0.symbols.nupkg",
        ] {
            try FileManager.default.copyItem(atPath: Repo.fixtures + "/" + name, toPath: input + "/" + name)
        }
        let made = try python(["-c", Self.maker, Repo.fixtures, input])
        #expect(made.status == 0, "\(made.stderr)")
        // A zip bomb (an entry declaring more than the limits take), as a symbol package.
        let hostile = tmp.sub("hostile")
        #expect(try python([RobustnessTests.hostileMaker, hostile]).status == 0)
        try FileManager.default.copyItem(
            atPath: hostile + "/bomb-declared.nupkg", toPath: input + "/Bomb.Sym.1.0.0.snupkg")
        let bombWords =
            try String(contentsOfFile: hostile + "/expected.tsv", encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("bomb-declared.nupkg\t") }.map { String($0.split(separator: "\t")[1]) } ?? "?"
        var keys: [String: String] = [:]
        for line in made.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { keys[String(parts[0])] = String(parts[1]) }
        }
        // Python's two sides agree, and name the key Shelf must serve.
        #expect(keys["pe"] == keys["pdb"] && keys["pe"] != nil, "\(keys)")
        let out = tmp.sub("out")
        let built = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL])
        // The hostile symbol packages are refused, one line each; their packages are served.
        #expect(built.status == 2, "\(built.stderr)")
        for (file, words) in [
            ("Claims.Other.1.0.0.snupkg", "is not the PDB lib/net5.0/Claims.Other.dll was built with"),
            ("Climbs.Out.1.0.0.snupkg", "its symbols are not served"),
            ("Bomb.Sym.1.0.0.snupkg", bombWords),
        ] {
            let lines = built.stderr.split(separator: "\n").filter { $0.contains(file) }
            #expect(lines.count == 1 && lines[0].hasPrefix("error:") && lines[0].contains(words), "\(file): \(lines)")
        }
        #expect(built.stderr.contains("2 of 6 symbol packages served"), "\(built.stderr)")
        for id in ["claims.other", "climbs.out", "bomb.sym", "testdata", "known.id"] {
            #expect(FileManager.default.fileExists(atPath: out + "/flatcontainer/\(id)/1.0.0") || id == "testdata")
        }
        // The real pair and the known id: at the key both sides give, with the PDB's bytes.
        let testDataKey = try #require(keys["pe"])
        let knownKey = try #require(keys["known"])
        #expect(testDataKey == "testdata.pdb/16f71ed8dd574aa2ad4a22d29e9c981bffffffff/testdata.pdb")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: out + "/symbols/" + testDataKey))
                == Data(
                    contentsOf: URL(
                        fileURLWithPath: try Self.extract(
                            Repo.fixtures + "/TestData.1.2.3.snupkg", "lib/net5.0/TestData.pdb", into: tmp.sub("x")))))
        #expect(FileManager.default.fileExists(atPath: out + "/symbols/" + knownKey))
        #expect(FileManager.default.fileExists(atPath: out + "/flatcontainer/known.id/1.0.0/known.id.1.0.0.snupkg"))
        let symbolFiles = try FileManager.default.subpathsOfDirectory(atPath: out + "/symbols").filter {
            $0.hasSuffix(".pdb") && $0.split(separator: "/").count == 3
        }
        #expect(Set(symbolFiles) == [testDataKey, knownKey], "\(symbolFiles)")
        // The package page says so.
        let page = try String(contentsOfFile: out + "/packages/testdata/1.2.3.html", encoding: .utf8)
        #expect(page.contains("Symbol server: <code>\(Self.baseURL)symbols/</code>"))
        #expect(try shelf(["validate", out, "--quiet"]).status == 0)

        // Removing a symbol package costs its id; adding it back too; nothing else changes.
        try FileManager.default.moveItem(atPath: input + "/Known.Id.1.0.0.snupkg", toPath: tmp.sub("aside.snupkg"))
        let removed = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--json"])
        let r1 = try JSONSerialization.jsonObject(with: Data(removed.stdout.utf8)) as! [String: Any]
        #expect(r1["idsRendered"] as? Int == 1 && r1["packagesOpened"] as? Int == 0, "\(r1)")
        #expect(!FileManager.default.fileExists(atPath: out + "/symbols/" + knownKey))
        #expect(!FileManager.default.fileExists(atPath: out + "/flatcontainer/known.id/1.0.0/known.id.1.0.0.snupkg"))
        try FileManager.default.moveItem(atPath: tmp.sub("aside.snupkg"), toPath: input + "/Known.Id.1.0.0.snupkg")
        let added = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--json"])
        let r2 = try JSONSerialization.jsonObject(with: Data(added.stdout.utf8)) as! [String: Any]
        #expect(r2["idsRendered"] as? Int == 1, "\(r2)")
        #expect(FileManager.default.fileExists(atPath: out + "/symbols/" + knownKey))
        let noop = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--json"])
        let r3 = try JSONSerialization.jsonObject(with: Data(noop.stdout.utf8)) as! [String: Any]
        #expect(r3["nothingChanged"] as? Bool == true, "\(r3)")
        // The same feed as a build from scratch.
        let fresh = tmp.sub("fresh")
        _ = try shelf(["build", input, "--out", fresh, "--base-url", Self.baseURL, "--quiet"])
        #expect(try historyFreeSnapshot(out) == (try historyFreeSnapshot(fresh)))

        // shelf serve answers a key in any case, with the symbol store's caching.
        let port = try freePort()
        let server = try StaticServer(
            port: port, executable: Repo.shelf, arguments: ["serve", out, "--port", String(port)])
        defer { server.stop() }
        for key in [
            testDataKey, testDataKey.uppercased(), "TestData.pdb/16F71ED8DD574AA2AD4A22D29E9C981Bffffffff/TestData.pdb",
        ] {
            let r = try ServeTests.curl([server.url + "symbols/" + key])
            #expect(r.status == 200, "\(key)")
            #expect(r.headers["cache-control"] == "public, max-age=31536000, immutable")
        }
        #expect(
            try ServeTests.curl([
                server.url + "symbols/testdata.pdb/00000000000000000000000000000000ffffffff/testdata.pdb"
            ]).status == 404)
        // shelf validate over HTTP checks each version's symbol package against the store.
        let overHTTP = try shelf(["validate", server.url + "index.json", "--base-url", Self.baseURL, "--quiet"])
        #expect(overHTTP.status == 0, "\(overHTTP.stdout) \(overHTTP.stderr)")
        try FileManager.default.removeItem(atPath: out + "/symbols/" + knownKey)
        let broken = try shelf(["validate", server.url + "index.json", "--base-url", Self.baseURL, "--quiet"])
        #expect(
            broken.status != 0 && (broken.stdout + broken.stderr).contains("symbols/\(knownKey)"), "\(broken.stdout)")
    }

    static func extract(_ package: String, _ entry: String, into folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let r = try run("/usr/bin/unzip", ["-o", "-q", package, entry, "-d", folder])
        #expect(r.status == 0, "\(r.stderr)")
        return folder + "/" + entry
    }

    /// Symbol packages at the edges: an entry named with backslashes, two packages carrying the
    /// same PDB (one key), one without its package, a second one for a version, one pushed.
    static let edges = #"""
        import sys, zipfile
        src, out = sys.argv[1], sys.argv[2]
        nu = zipfile.ZipFile(src + "/TestData.1.2.3.nupkg"); sn = zipfile.ZipFile(src + "/TestData.1.2.3.snupkg")
        dll = nu.read("lib/net5.0/TestData.dll"); pdb = sn.read("lib/net5.0/TestData.pdb")
        def nuspec(pid, symbols):
            t = '<packageTypes><packageType name="SymbolsPackage" /></packageTypes>' if symbols else ""
            return ('<?xml version="1.0"?><package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">'
                    '<metadata><id>%s</id><version>1.0.0</version><authors>t</authors><description>d</description>%s'
                    '</metadata></package>' % (pid, t))
        def write(name, entries):
            with zipfile.ZipFile(out + "/" + name, "w", zipfile.ZIP_DEFLATED) as z:
                for n, d in entries: z.writestr(n, d)
        write("Back.Slash.1.0.0.nupkg", [("Back.Slash.nuspec", nuspec("Back.Slash", False)), ("lib/net5.0/Back.Slash.dll", dll)])
        write("Back.Slash.1.0.0.snupkg", [("Back.Slash.nuspec", nuspec("Back.Slash", True)), ("lib\\net5.0\\Back.Slash.pdb", pdb)])
        for pid in ["Alpha.Sym", "Beta.Sym"]:
            write(pid + ".1.0.0.nupkg", [(pid + ".nuspec", nuspec(pid, False)), ("lib/net5.0/Shared.dll", dll)])
            write(pid + ".1.0.0.snupkg", [(pid + ".nuspec", nuspec(pid, True)), ("lib/net5.0/Shared.pdb", pdb)])
        write("Orphan.Sym.1.0.0.snupkg", [("Orphan.Sym.nuspec", nuspec("Orphan.Sym", True)), ("lib/net5.0/Orphan.Sym.pdb", pdb)])
        """#

    @Test(
        "symbol packages at the edges: backslash names, two packages with one PDB, one without a package, a second for a version, a push of one"
    )
    func edges() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input + "/sub", withIntermediateDirectories: true)
        for name in ["TestData.1.2.3.nupkg", "TestData.1.2.3.snupkg"] {
            try FileManager.default.copyItem(atPath: Repo.fixtures + "/" + name, toPath: input + "/" + name)
        }
        try FileManager.default.copyItem(
            atPath: Repo.fixtures + "/TestData.1.2.3.snupkg", toPath: input + "/sub/TestData.1.2.3.snupkg")
        #expect(try python(["-c", Self.edges, Repo.fixtures, input]).status == 0)
        let out = tmp.sub("out")
        let b = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(b.status == 2, "\(b.stderr)")
        let errors = b.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 2, "\(errors)")
        #expect(
            errors.contains { $0.contains("Orphan.Sym.1.0.0.snupkg") && $0.contains("no package orphan.sym 1.0.0") })
        #expect(errors.contains { $0.contains("sub/TestData.1.2.3.snupkg") && $0.contains("already") })
        let key = "testdata.pdb/16f71ed8dd574aa2ad4a22d29e9c981bffffffff/testdata.pdb"
        let shared = "shared.pdb/16f71ed8dd574aa2ad4a22d29e9c981bffffffff/shared.pdb"
        let backslash = "back.slash.pdb/16f71ed8dd574aa2ad4a22d29e9c981bffffffff/back.slash.pdb"
        for k in [key, shared, backslash] {
            #expect(FileManager.default.fileExists(atPath: out + "/symbols/" + k), "\(k)")
        }
        // Beta leaves: the PDB Alpha carries too stays.
        try FileManager.default.removeItem(atPath: input + "/Beta.Sym.1.0.0.snupkg")
        _ = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--quiet"])
        #expect(FileManager.default.fileExists(atPath: out + "/symbols/" + shared))
        #expect(!FileManager.default.fileExists(atPath: out + "/flatcontainer/beta.sym/1.0.0/beta.sym.1.0.0.snupkg"))
        // The first of two symbol packages for a version leaves: the second is served, no error left.
        try FileManager.default.removeItem(atPath: input + "/TestData.1.2.3.snupkg")
        try FileManager.default.removeItem(atPath: input + "/Orphan.Sym.1.0.0.snupkg")
        let again = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(FileManager.default.fileExists(atPath: out + "/symbols/" + key))
        #expect(try shelf(["validate", out, "--quiet"]).status == 0)
        // A push that puts Back.Slash together again (a policy unlisting it) keeps its symbols.
        let policy = tmp.sub("policy.json")
        try Data(#"{"unlisted": {"Back.Slash": "[1.0.0]"}}"#.utf8).write(to: URL(fileURLWithPath: policy))
        #expect(try shelf(["push", "--policy", policy, out, "--quiet"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: out + "/symbols/" + backslash))
        // A symbol package pushed as a package is refused.
        let pushed = try shelf(["push", Repo.fixtures + "/TestData.1.2.3.snupkg", out, "--quiet"])
        #expect(pushed.status == 2 && pushed.stderr.contains("is a symbol package"), "\(pushed.stderr)")
    }
}
