// Generated MIB modules shaped like the ones hardware vendors ship, to bring the traps bench's
// MIB-loading figure to 100 modules: vendors of ten modules each, the first holding the vendor's
// textual conventions and the others importing them; per module eight subsystems, each a table of
// eight columns, alert objects sent with notifications, a ...Failure, ...Warning and ...Normal
// notification per subsystem, and conformance groups. Every third vendor writes SMIv1 (RFC 1212
// OBJECT-TYPE, RFC 1215 TRAP-TYPE), as older server and storage MIBs still do. All under enterprise
// 32473 (RFC 5612, documentation). The text is invented here, not taken from any vendor.

const SUBSYSTEMS = [
  "fan",
  "powerSupply",
  "temperature",
  "disk",
  "memory",
  "processor",
  "network",
  "battery",
] as const;
const KINDS = ["Failure", "Warning", "Normal"] as const;
const MODULES_PER_VENDOR = 10;

export interface GeneratedMib {
  module: string;
  file: string;
  text: string;
  /** Its notifications as MODULE::name, with their objects. */
  notifications: { name: string; kind: (typeof KINDS)[number]; objects: string[] }[];
}

const cap = (s: string) => s[0]?.toUpperCase() + s.slice(1);

/** The n-th generated module (0-based); module 0 of each vendor holds the vendor's TCs. */
export function vendorMib(n: number): GeneratedMib {
  const vendor = Math.floor(n / MODULES_PER_VENDOR);
  const index = n % MODULES_PER_VENDOR;
  const smiV1 = vendor % 3 === 2;
  const tcModule = `BENCH-VENDOR${vendor}-TC-MIB`;
  if (index === 0) return tcMib(vendor, smiV1, tcModule);
  const module = `BENCH-VENDOR${vendor}-SYSTEM${index}-MIB`;
  const p = `bv${vendor}m${index}`;
  const root = `${p}Mib`;
  const lines: string[] = [`${module} DEFINITIONS ::= BEGIN`, ""];
  lines.push(
    "IMPORTS",
    ...(smiV1
      ? [
          "    enterprises, IpAddress, Counter, Gauge FROM RFC1155-SMI",
          "    OBJECT-TYPE FROM RFC-1212",
          "    TRAP-TYPE FROM RFC-1215",
          "    DisplayString FROM RFC1213-MIB",
          `    ${tcNames(vendor).join(", ")} FROM ${tcModule};`,
        ]
      : [
          "    MODULE-IDENTITY, OBJECT-TYPE, NOTIFICATION-TYPE, Integer32, Gauge32, Counter32,",
          "    IpAddress, enterprises FROM SNMPv2-SMI",
          "    DisplayString, DateAndTime FROM SNMPv2-TC",
          "    OBJECT-GROUP, NOTIFICATION-GROUP, MODULE-COMPLIANCE FROM SNMPv2-CONF",
          `    ${tcNames(vendor).join(", ")} FROM ${tcModule};`,
        ]),
    "",
  );
  const arc = 1000 + vendor * MODULES_PER_VENDOR + index;
  if (smiV1) lines.push(`${root} OBJECT IDENTIFIER ::= { enterprises 32473 ${arc} }`, "");
  else
    lines.push(
      `${root} MODULE-IDENTITY`,
      '    LAST-UPDATED "202406010000Z"',
      `    ORGANIZATION "Bench Vendor ${vendor}"`,
      '    CONTACT-INFO "support@example.com"',
      `    DESCRIPTION "System component ${index} of bench vendor ${vendor}: health of its fans,`,
      '        power supplies, temperature probes and disks, and the alerts it sends."',
      '    REVISION "202406010000Z"',
      '    DESCRIPTION "Generated for petgate\'s MIB-loading bench."',
      `    ::= { enterprises 32473 ${arc} }`,
      "",
    );
  lines.push(
    `${p}Traps OBJECT IDENTIFIER ::= { ${root} 0 }`,
    `${p}Objects OBJECT IDENTIFIER ::= { ${root} 1 }`,
    `${p}Alert OBJECT IDENTIFIER ::= { ${root} 2 }`,
    `${p}Conformance OBJECT IDENTIFIER ::= { ${root} 3 }`,
    "",
  );
  const access = (a: string) =>
    smiV1 ? `    ACCESS ${a === "not-accessible" ? a : "read-only"}` : `    MAX-ACCESS ${a}`;
  const status = smiV1 ? "    STATUS mandatory" : "    STATUS current";
  const objectType = (
    name: string,
    syntax: string,
    a: string,
    description: string,
    at: string,
    extra: string[] = [],
  ) =>
    lines.push(
      `${name} OBJECT-TYPE`,
      `    SYNTAX ${syntax}`,
      access(a),
      status,
      `    DESCRIPTION "${description}"`,
      ...extra,
      `    ::= { ${at} }`,
      "",
    );
  const alertObjects = [
    [`${p}AlertMessageID`, "DisplayString (SIZE (0..16))", "The message ID in the vendor's registry."],
    [`${p}AlertMessage`, "DisplayString (SIZE (0..512))", "The message text with its arguments."],
    [`${p}AlertSeverity`, `BenchV${vendor}Status`, "How bad the condition is."],
    [`${p}AlertDevice`, "DisplayString (SIZE (0..128))", "The device, Kind.Location.Instance."],
    [`${p}AlertSystemName`, `BenchV${vendor}Name`, "The managed system's host name."],
    [`${p}AlertAddress`, "IpAddress", "The management controller's address."],
  ] as const;
  alertObjects.forEach(([name, syntax, description], i) => {
    objectType(name, syntax, "accessible-for-notify", description, `${p}Alert ${i + 1}`);
  });
  const notifications: GeneratedMib["notifications"] = [];
  SUBSYSTEMS.forEach((sub, s) => {
    const entry = `${p}${cap(sub)}Entry`;
    const type = `${cap(p)}${cap(sub)}Entry`;
    const columns = [
      [`${p}${cap(sub)}Index`, smiV1 ? "INTEGER (1..256)" : "Integer32 (1..256)", "read-only", "Index."],
      [`${p}${cap(sub)}Name`, `BenchV${vendor}Name`, "read-only", "Name as printed on the chassis."],
      [`${p}${cap(sub)}Status`, `BenchV${vendor}Status`, "read-only", "Health."],
      [`${p}${cap(sub)}Reading`, `BenchV${vendor}Tenths`, "read-only", "Reading in tenths of its unit."],
      [`${p}${cap(sub)}LowerCritical`, `BenchV${vendor}Tenths`, "read-only", "Lower critical threshold."],
      [`${p}${cap(sub)}UpperCritical`, `BenchV${vendor}Tenths`, "read-only", "Upper critical threshold."],
      [`${p}${cap(sub)}Location`, "DisplayString (SIZE (0..64))", "read-only", "Where it sits."],
      [`${p}${cap(sub)}Errors`, smiV1 ? "Counter" : "Counter32", "read-only", "Errors counted."],
    ] as const;
    objectType(
      `${p}${cap(sub)}Table`,
      `SEQUENCE OF ${type}`,
      "not-accessible",
      `The ${sub}s.`,
      `${p}Objects ${s + 1}`,
    );
    objectType(entry, type, "not-accessible", `One ${sub}.`, `${p}${cap(sub)}Table 1`, [
      `    INDEX { ${columns[0][0]} }`,
    ]);
    lines.push(
      `${type} ::= SEQUENCE {`,
      columns.map(([c, t]) => `    ${c} ${t.split(" (")[0]}`).join(",\n"),
      "}",
      "",
    );
    columns.forEach(([name, syntax, a, description], c) => {
      objectType(name, syntax, a, description, `${entry} ${c + 1}`);
    });
    KINDS.forEach((kind, k) => {
      const name = `${p}${cap(sub)}${kind}`;
      const objects = [
        ...alertObjects.map(([o]) => o),
        columns[0][0],
        columns[1][0],
        columns[2][0],
        columns[3][0],
      ];
      const number = s * KINDS.length + k + 1;
      const description = `A ${sub} reports ${kind.toLowerCase()}: see ${p}AlertMessage for the device and the action to take.`;
      if (smiV1)
        lines.push(
          `${name} TRAP-TYPE`,
          `    ENTERPRISE ${root}`,
          `    VARIABLES { ${objects.join(", ")} }`,
          `    DESCRIPTION "${description}"`,
          `    ::= ${number}`,
          "",
        );
      else
        lines.push(
          `${name} NOTIFICATION-TYPE`,
          `    OBJECTS { ${objects.join(", ")} }`,
          "    STATUS current",
          `    DESCRIPTION "${description}"`,
          `    ::= { ${p}Traps ${number} }`,
          "",
        );
      notifications.push({ name: `${module}::${name}`, kind, objects });
    });
  });
  if (!smiV1)
    lines.push(
      `${p}Groups OBJECT IDENTIFIER ::= { ${p}Conformance 1 }`,
      `${p}AlertGroup OBJECT-GROUP`,
      `    OBJECTS { ${alertObjects.map(([o]) => o).join(", ")} }`,
      "    STATUS current",
      '    DESCRIPTION "Alert objects."',
      `    ::= { ${p}Groups 1 }`,
      "",
      `${p}NotificationGroup NOTIFICATION-GROUP`,
      `    NOTIFICATIONS { ${notifications.map((x) => x.name.split("::")[1]).join(", ")} }`,
      "    STATUS current",
      '    DESCRIPTION "Notifications."',
      `    ::= { ${p}Groups 2 }`,
      "",
      `${p}Compliance MODULE-COMPLIANCE`,
      "    STATUS current",
      '    DESCRIPTION "What an agent implements."',
      `    MODULE MANDATORY-GROUPS { ${p}AlertGroup, ${p}NotificationGroup }`,
      `    ::= { ${p}Conformance 2 }`,
      "",
    );
  lines.push("END", "");
  return { module, file: `${module}.mib`, text: lines.join("\n"), notifications };
}

function tcNames(vendor: number): string[] {
  return [`BenchV${vendor}Status`, `BenchV${vendor}Name`, `BenchV${vendor}Tenths`];
}

/** The vendor's textual conventions (SMIv1 vendors: plain type assignments, as RFC 1212 allows). */
function tcMib(vendor: number, smiV1: boolean, module: string): GeneratedMib {
  const [status, name, tenths] = tcNames(vendor);
  const statusSyntax =
    "INTEGER { other(1), unknown(2), ok(3), nonCritical(4), critical(5), nonRecoverable(6) }";
  const text = smiV1
    ? [
        `${module} DEFINITIONS ::= BEGIN`,
        "IMPORTS DisplayString FROM RFC1213-MIB;",
        `${status} ::= ${statusSyntax}`,
        `${name} ::= DisplayString`,
        `${tenths} ::= INTEGER`,
        "END",
        "",
      ]
    : [
        `${module} DEFINITIONS ::= BEGIN`,
        "IMPORTS MODULE-IDENTITY, enterprises, Integer32 FROM SNMPv2-SMI",
        "    TEXTUAL-CONVENTION FROM SNMPv2-TC;",
        `bv${vendor}TcMib MODULE-IDENTITY`,
        '    LAST-UPDATED "202406010000Z"',
        `    ORGANIZATION "Bench Vendor ${vendor}"`,
        '    CONTACT-INFO "support@example.com"',
        '    DESCRIPTION "Textual conventions shared by the vendor\'s MIBs."',
        `    ::= { enterprises 32473 ${1000 + vendor * MODULES_PER_VENDOR} }`,
        `${status} ::= TEXTUAL-CONVENTION`,
        "    STATUS current",
        '    DESCRIPTION "Health of a component."',
        `    SYNTAX ${statusSyntax}`,
        `${name} ::= TEXTUAL-CONVENTION`,
        '    DISPLAY-HINT "255a"',
        "    STATUS current",
        '    DESCRIPTION "A name, UTF-8."',
        "    SYNTAX OCTET STRING (SIZE (0..255))",
        `${tenths} ::= TEXTUAL-CONVENTION`,
        '    DISPLAY-HINT "d-1"',
        "    STATUS current",
        '    DESCRIPTION "A reading in tenths of its unit."',
        "    SYNTAX Integer32",
        "END",
        "",
      ];
  return { module, file: `${module}.mib`, text: text.join("\n"), notifications: [] };
}
