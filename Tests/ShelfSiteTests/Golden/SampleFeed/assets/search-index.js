window.shelfSearchIndex = [
  [
    "shelf.sample.analyzers",
    "shelf.sample.analyzers  shelf analyzers shelf contributors  a development dependency built with a .net 5 preview sdk: its dependency group is named .netcoreapp5.0, it is serviceable, and it names its package types in two lists (one with a padded, repeated name)."
  ],
  [
    "shelf.sample.core",
    "shelf.sample.core shelf sample core shelf sample core shelf contributors core sample package. the core library of the shelf sample feed. it has an embedded icon, readme and license file."
  ],
  [
    "shelf.sample.extensions",
    "shelf.sample.extensions  shelf sample extensions shelf contributors  extensions for shelf.sample.core, with per-framework dependency groups."
  ],
  [
    "shelf.sample.legacy",
    "shelf.sample.legacy  shelf legacy shelf contributors  an old-style package: a four-part version written with a leading zero, a 2010/07 nuspec, a flat dependency list and framework assemblies."
  ],
  [
    "shelf.sample.preview",
    "shelf.sample.preview   shelf contributors  a semver 1.0.0 version that depends on a semver 2.0.0 prerelease, so it appears only in the semver 2.0.0 registration hive."
  ]
]
