//! What a tip can be about and where: the categories of the 2018 national reward measures
//! (禁毒办通〔2018〕70号) and the townships of Hengyang County, with the fifteen the 2018
//! outflow-trafficking plan names first. Codes are stable; labels are for people.

pub struct Choice {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

const fn c(code: &'static str, zh: &'static str, en: &'static str) -> Choice {
    Choice { code, zh, en }
}

pub const CATEGORIES: &[Choice] = &[
    c(
        "trafficking",
        "贩卖、运输、制造毒品",
        "Selling, transporting or making drugs",
    ),
    c(
        "outflow",
        "外流贩毒（到县外贩毒）",
        "Trafficking outside the county",
    ),
    c(
        "use_hosting",
        "吸毒、容留他人吸毒",
        "Drug use, or letting others use drugs",
    ),
    c("group_use", "聚众吸毒", "Group drug use"),
    c(
        "drug_driving",
        "毒驾",
        "Driving under the influence of drugs",
    ),
    c(
        "precursors_labs",
        "制毒物品、制毒窝点",
        "Precursor chemicals or drug labs",
    ),
    c("growing", "非法种植毒品原植物", "Growing drug plants"),
    c(
        "venues",
        "宾馆、茶楼、歌厅（KTV）、网吧等场所涉毒",
        "Drugs at hotels, teahouses, KTV or internet cafes",
    ),
    c("fugitive", "涉毒在逃人员", "Drug fugitives"),
    c(
        "gang_network",
        "涉黑涉恶贩毒团伙、网络",
        "Gang-linked trafficking networks",
    ),
    c("other", "其他涉毒线索", "Other drug crime"),
];

/// Categories the county brigade handles whatever the township (DESIGN.md section 4).
pub const COUNTY_WIDE_CATEGORIES: &[&str] =
    &["outflow", "fugitive", "gang_network", "precursors_labs"];

pub const UNKNOWN_TOWNSHIP: &str = "other";

pub const TOWNSHIPS: &[Choice] = &[
    // Named by the 2018 plan as having serious outflow trafficking.
    c("hongshi", "洪市镇", "Hongshi"),
    c("da_an", "大安乡", "Da'an"),
    c("xidu", "西渡镇", "Xidu"),
    c("jinlan", "金兰镇", "Jinlan"),
    c("kuzongqiao", "库宗桥镇", "Kuzongqiao"),
    c("jinxi", "金溪镇", "Jinxi"),
    c("qulan", "曲兰镇", "Qulan"),
    c("sanhu", "三湖镇", "Sanhu"),
    c("jibing", "集兵镇", "Jibing"),
    c("guanshi", "关市镇", "Guanshi"),
    c("jiepai", "界牌镇", "Jiepai"),
    c("taiyuan", "台源镇", "Taiyuan"),
    c("xianshan", "岘山镇", "Xianshan"),
    c("jingtou", "井头镇", "Jingtou"),
    c("shishi", "石市镇", "Shishi"),
    // The county's other townships.
    c("yanpi", "演陂镇", "Yanpi"),
    c("zhajiang", "渣江镇", "Zhajiang"),
    c("shanqiao", "杉桥镇", "Shanqiao"),
    c("chang_an", "长安乡", "Chang'an"),
    c("zhangshu", "樟树乡", "Zhangshu"),
    c("xijiang", "溪江乡", "Xijiang"),
    c("lanlong", "栏垅乡", "Lanlong"),
    c("banshi", "板市乡", "Banshi"),
    c("goulou", "岣嵝乡", "Goulou"),
    c(UNKNOWN_TOWNSHIP, "其他/不清楚", "Other / not sure"),
];

pub const COUNTY_UNIT: &str = "county";
pub const COUNTY_UNIT_ZH: &str = "县公安局禁毒大队";
pub const COUNTY_UNIT_EN: &str = "County anti-drug brigade";
/// The county bureau: no townships; its supervisors sign large rewards.
pub const BUREAU_UNIT: &str = "bureau";

pub fn category(code: &str) -> Option<&'static Choice> {
    CATEGORIES.iter().find(|c| c.code == code)
}

pub fn township(code: &str) -> Option<&'static Choice> {
    TOWNSHIPS.iter().find(|c| c.code == code)
}

/// The police station that serves a township in a fresh install.
pub fn station_code(township: &str) -> String {
    format!("ps-{township}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_county_wide_categories_exist() {
        let mut seen = std::collections::HashSet::new();
        for c in CATEGORIES.iter().chain(TOWNSHIPS) {
            assert!(seen.insert((c.code, c.zh)), "duplicate {}", c.code);
        }
        for code in COUNTY_WIDE_CATEGORIES {
            assert!(category(code).is_some());
        }
        assert_eq!(TOWNSHIPS.len(), 25);
    }
}
