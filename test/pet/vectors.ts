/** PET varbind vectors from PROTOCOL.md §1.2 (as `ipmi-pet -vv` decodes them with TZ=UTC). */
export const DELL_CHASSIS_INTRUSION = {
  specificTrap: 356224,
  hex: "44454c4c500010598043b2c04f333358000219e87e26ffff202004207318008001ff000000000019000002a20100c1",
};

export const IBM_IMM2_CORRECTABLE_ECC = {
  specificTrap: 814848,
  hex: "e7eb938e074d11e1a56c5cf3fc30462400531afd41f6ffff2020028153000000ffff00000000001900004f4d0161c1",
};

export function hexBytes(hex: string): Buffer {
  return Buffer.from(hex.replace(/\s+/g, ""), "hex");
}
