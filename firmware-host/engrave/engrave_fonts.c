/*
 * The default font fallback chains: a chain per ISO 15924 script for every
 * script that Debian's fonts-noto-core has a face for (sans first, then
 * serif, then the script's other styles), the CJK faces of fonts-noto-cjk,
 * an outline emoji face (fonts-symbola), and the chain for everything else.
 * Each script's chain ends in Noto Sans, then DejaVu Sans, so that the
 * digits and punctuation a script's own face lacks (Noto Sans Hebrew has no
 * digits) are drawn in the face that matches it rather than DejaVu's
 * heavier one.
 *
 * The script of each face was read from the faces themselves (the script of
 * most of the characters in its cmap, through HarfBuzz's Unicode functions)
 * when this table was written; docs/engraving.md lists the scripts.
 */
#include "engrave/engrave_int.h"

#define NOTO "/usr/share/fonts/truetype/noto/"
#define R(name) NOTO name "-Regular.ttf"
#define NOTO_CJK "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
#define DEJAVU "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define SYMBOLA "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf"
#define MATCH R("NotoSans"), DEJAVU, NULL

static const char *const f_latin[] = { MATCH };
/* NotoSansCJK-Regular.ttc faces: 0 JP, 1 KR, 2 SC, 3 TC. */
static const char *const f_hani[] = { NOTO_CJK ":2", NULL };
static const char *const f_hani_ja[] = { NOTO_CJK ":0", NULL };
static const char *const f_hani_ko[] = { NOTO_CJK ":1", NULL };
static const char *const f_hani_tw[] = { NOTO_CJK ":3", NULL };
static const char *const f_jpan[] = { NOTO_CJK ":0", NULL };
static const char *const f_kore[] = { NOTO_CJK ":1", NULL };
/* Emoji: colour bitmap faces (Noto Color Emoji) have no outline to burn. */
static const char *const f_emoji[] = { SYMBOLA, NULL };
static const char *const f_any[] = {
	R("NotoSans"), DEJAVU, NOTO_CJK ":2", R("NotoSansSymbols"), R("NotoSansSymbols2"),
	R("NotoSansMath"), R("NotoMusic"), SYMBOLA, NULL
};

static const char *const f_adlm[] = { R("NotoSansAdlam"), MATCH };
static const char *const f_aghb[] = { R("NotoSansCaucasianAlbanian"), MATCH };
static const char *const f_ahom[] = { R("NotoSerifAhom"), MATCH };
static const char *const f_arab[] = {
	R("NotoSansArabic"), R("NotoNaskhArabic"), R("NotoKufiArabic"), R("NotoNastaliqUrdu"), MATCH
};
static const char *const f_armi[] = { R("NotoSansImperialAramaic"), MATCH };
static const char *const f_armn[] = { R("NotoSansArmenian"), R("NotoSerifArmenian"), MATCH };
static const char *const f_avst[] = { R("NotoSansAvestan"), MATCH };
static const char *const f_bali[] = { R("NotoSansBalinese"), R("NotoSerifBalinese"), MATCH };
static const char *const f_bamu[] = { R("NotoSansBamum"), MATCH };
static const char *const f_bass[] = { R("NotoSansBassaVah"), MATCH };
static const char *const f_batk[] = { R("NotoSansBatak"), MATCH };
static const char *const f_beng[] = { R("NotoSansBengali"), R("NotoSerifBengali"), MATCH };
static const char *const f_bhks[] = { R("NotoSansBhaiksuki"), MATCH };
static const char *const f_brah[] = { R("NotoSansBrahmi"), MATCH };
static const char *const f_brai[] = { R("NotoSansSymbols2"), MATCH };
static const char *const f_bugi[] = { R("NotoSansBuginese"), MATCH };
static const char *const f_buhd[] = { R("NotoSansBuhid"), MATCH };
static const char *const f_cakm[] = { R("NotoSansChakma"), MATCH };
static const char *const f_cans[] = { R("NotoSansCanadianAboriginal"), MATCH };
static const char *const f_cari[] = { R("NotoSansCarian"), MATCH };
static const char *const f_cham[] = { R("NotoSansCham"), MATCH };
static const char *const f_cher[] = { R("NotoSansCherokee"), MATCH };
static const char *const f_copt[] = { R("NotoSansCoptic"), MATCH };
static const char *const f_cprt[] = { R("NotoSansCypriot"), MATCH };
static const char *const f_deva[] = {
	R("NotoSansDevanagari"), R("NotoSerifDevanagari"), MATCH
};
static const char *const f_dogr[] = { R("NotoSerifDogra"), MATCH };
static const char *const f_dsrt[] = { R("NotoSansDeseret"), MATCH };
static const char *const f_dupl[] = { R("NotoSansDuployan"), MATCH };
static const char *const f_egyp[] = { R("NotoSansEgyptianHieroglyphs"), MATCH };
static const char *const f_elba[] = { R("NotoSansElbasan"), MATCH };
static const char *const f_elym[] = { R("NotoSansElymaic"), MATCH };
static const char *const f_ethi[] = { R("NotoSansEthiopic"), R("NotoSerifEthiopic"), MATCH };
static const char *const f_geor[] = { R("NotoSansGeorgian"), R("NotoSerifGeorgian"), MATCH };
static const char *const f_glag[] = { R("NotoSansGlagolitic"), MATCH };
static const char *const f_gong[] = { R("NotoSansGunjalaGondi"), MATCH };
static const char *const f_gonm[] = { R("NotoSansMasaramGondi"), MATCH };
static const char *const f_goth[] = { R("NotoSansGothic"), MATCH };
static const char *const f_gran[] = { R("NotoSansGrantha"), R("NotoSerifGrantha"), MATCH };
static const char *const f_gujr[] = { R("NotoSansGujarati"), R("NotoSerifGujarati"), MATCH };
static const char *const f_guru[] = { R("NotoSansGurmukhi"), R("NotoSerifGurmukhi"), MATCH };
static const char *const f_hano[] = { R("NotoSansHanunoo"), MATCH };
static const char *const f_hatr[] = { R("NotoSansHatran"), MATCH };
static const char *const f_hebr[] = {
	R("NotoSansHebrew"), R("NotoSerifHebrew"), R("NotoRashiHebrew"), MATCH
};
static const char *const f_hluw[] = { R("NotoSansAnatolianHieroglyphs"), MATCH };
static const char *const f_hmng[] = { R("NotoSansPahawhHmong"), MATCH };
static const char *const f_hmnp[] = { R("NotoSerifNyiakengPuachueHmong"), MATCH };
static const char *const f_hung[] = { R("NotoSansOldHungarian"), MATCH };
static const char *const f_ital[] = { R("NotoSansOldItalic"), MATCH };
static const char *const f_java[] = { R("NotoSansJavanese"), MATCH };
static const char *const f_kali[] = { R("NotoSansKayahLi"), MATCH };
static const char *const f_khar[] = { R("NotoSansKharoshthi"), MATCH };
static const char *const f_khmr[] = { R("NotoSansKhmer"), R("NotoSerifKhmer"), MATCH };
static const char *const f_khoj[] = { R("NotoSansKhojki"), R("NotoSerifKhojki"), MATCH };
static const char *const f_knda[] = { R("NotoSansKannada"), R("NotoSerifKannada"), MATCH };
static const char *const f_kthi[] = { R("NotoSansKaithi"), MATCH };
static const char *const f_lana[] = { R("NotoSansTaiTham"), MATCH };
static const char *const f_laoo[] = {
	R("NotoSansLao"), R("NotoSerifLao"), R("NotoLoopedLao"), MATCH
};
static const char *const f_lepc[] = { R("NotoSansLepcha"), MATCH };
static const char *const f_limb[] = { R("NotoSansLimbu"), MATCH };
static const char *const f_lina[] = { R("NotoSansLinearA"), MATCH };
static const char *const f_linb[] = { R("NotoSansLinearB"), MATCH };
static const char *const f_lisu[] = { R("NotoSansLisu"), MATCH };
static const char *const f_lyci[] = { R("NotoSansLycian"), MATCH };
static const char *const f_lydi[] = { R("NotoSansLydian"), MATCH };
static const char *const f_mahj[] = { R("NotoSansMahajani"), MATCH };
static const char *const f_mand[] = { R("NotoSansMandaic"), MATCH };
static const char *const f_mani[] = { R("NotoSansManichaean"), MATCH };
static const char *const f_marc[] = { R("NotoSansMarchen"), MATCH };
static const char *const f_medf[] = { R("NotoSansMedefaidrin"), MATCH };
static const char *const f_mend[] = { R("NotoSansMendeKikakui"), MATCH };
static const char *const f_merc[] = { R("NotoSansMeroitic"), MATCH };
static const char *const f_mlym[] = { R("NotoSansMalayalam"), R("NotoSerifMalayalam"), MATCH };
static const char *const f_modi[] = { R("NotoSansModi"), MATCH };
static const char *const f_mong[] = { R("NotoSansMongolian"), MATCH };
static const char *const f_mroo[] = { R("NotoSansMro"), MATCH };
static const char *const f_mtei[] = { R("NotoSansMeeteiMayek"), MATCH };
static const char *const f_mult[] = { R("NotoSansMultani"), MATCH };
static const char *const f_mymr[] = { R("NotoSansMyanmar"), R("NotoSerifMyanmar"), MATCH };
static const char *const f_narb[] = { R("NotoSansOldNorthArabian"), MATCH };
static const char *const f_nbat[] = { R("NotoSansNabataean"), MATCH };
static const char *const f_newa[] = { R("NotoSansNewa"), MATCH };
static const char *const f_nkoo[] = { R("NotoSansNKo"), MATCH };
static const char *const f_nshu[] = { R("NotoSansNushu"), R("NotoTraditionalNushu"), MATCH };
static const char *const f_ogam[] = { R("NotoSansOgham"), MATCH };
static const char *const f_olck[] = { R("NotoSansOlChiki"), MATCH };
static const char *const f_orkh[] = { R("NotoSansOldTurkic"), MATCH };
static const char *const f_orya[] = { R("NotoSansOriya"), MATCH };
static const char *const f_osge[] = { R("NotoSansOsage"), MATCH };
static const char *const f_osma[] = { R("NotoSansOsmanya"), MATCH };
static const char *const f_palm[] = { R("NotoSansPalmyrene"), MATCH };
static const char *const f_pauc[] = { R("NotoSansPauCinHau"), MATCH };
static const char *const f_perm[] = { R("NotoSansOldPermic"), MATCH };
static const char *const f_phag[] = { R("NotoSansPhagsPa"), MATCH };
static const char *const f_phli[] = { R("NotoSansInscriptionalPahlavi"), MATCH };
static const char *const f_phlp[] = { R("NotoSansPsalterPahlavi"), MATCH };
static const char *const f_phnx[] = { R("NotoSansPhoenician"), MATCH };
static const char *const f_plrd[] = { R("NotoSansMiao"), MATCH };
static const char *const f_prti[] = { R("NotoSansInscriptionalParthian"), MATCH };
static const char *const f_rjng[] = { R("NotoSansRejang"), MATCH };
static const char *const f_rohg[] = { R("NotoSansHanifiRohingya"), MATCH };
static const char *const f_runr[] = { R("NotoSansRunic"), MATCH };
static const char *const f_samr[] = { R("NotoSansSamaritan"), MATCH };
static const char *const f_sarb[] = { R("NotoSansOldSouthArabian"), MATCH };
static const char *const f_saur[] = { R("NotoSansSaurashtra"), MATCH };
static const char *const f_sgnw[] = { R("NotoSansSignWriting"), MATCH };
static const char *const f_shaw[] = { R("NotoSansShavian"), MATCH };
static const char *const f_shrd[] = { R("NotoSansSharada"), MATCH };
static const char *const f_sidd[] = { R("NotoSansSiddham"), MATCH };
static const char *const f_sind[] = { R("NotoSansKhudawadi"), MATCH };
static const char *const f_sinh[] = { R("NotoSansSinhala"), R("NotoSerifSinhala"), MATCH };
static const char *const f_sogd[] = { R("NotoSansSogdian"), MATCH };
static const char *const f_sogo[] = { R("NotoSansOldSogdian"), MATCH };
static const char *const f_sora[] = { R("NotoSansSoraSompeng"), MATCH };
static const char *const f_soyo[] = { R("NotoSansSoyombo"), MATCH };
static const char *const f_sund[] = { R("NotoSansSundanese"), MATCH };
static const char *const f_sylo[] = { R("NotoSansSylotiNagri"), MATCH };
static const char *const f_syrc[] = { R("NotoSansSyriac"), MATCH };
static const char *const f_tagb[] = { R("NotoSansTagbanwa"), MATCH };
static const char *const f_takr[] = { R("NotoSansTakri"), MATCH };
static const char *const f_tale[] = { R("NotoSansTaiLe"), MATCH };
static const char *const f_talu[] = { R("NotoSansNewTaiLue"), MATCH };
static const char *const f_taml[] = {
	R("NotoSansTamil"), R("NotoSansTamilSupplement"), R("NotoSerifTamil"), MATCH
};
static const char *const f_tang[] = { R("NotoSerifTangut"), MATCH };
static const char *const f_tavt[] = { R("NotoSansTaiViet"), MATCH };
static const char *const f_telu[] = { R("NotoSansTelugu"), R("NotoSerifTelugu"), MATCH };
static const char *const f_tfng[] = {
	R("NotoSansTifinagh"), R("NotoSansTifinaghAPT"), R("NotoSansTifinaghAir"),
	R("NotoSansTifinaghSIL"), R("NotoSansTifinaghGhat"), R("NotoSansTifinaghAdrar"),
	R("NotoSansTifinaghHawad"), R("NotoSansTifinaghAhaggar"), R("NotoSansTifinaghAzawagh"),
	R("NotoSansTifinaghRhissaIxa"), R("NotoSansTifinaghTawellemmet"),
	R("NotoSansTifinaghAgrawImazighen"), MATCH
};
static const char *const f_tglg[] = { R("NotoSansTagalog"), MATCH };
static const char *const f_thaa[] = { R("NotoSansThaana"), MATCH };
static const char *const f_thai[] = {
	R("NotoSansThai"), R("NotoSerifThai"), R("NotoLoopedThai"), MATCH
};
static const char *const f_tibt[] = { R("NotoSerifTibetan"), MATCH };
static const char *const f_tirh[] = { R("NotoSansTirhuta"), MATCH };
static const char *const f_ugar[] = { R("NotoSansUgaritic"), MATCH };
static const char *const f_vaii[] = { R("NotoSansVai"), MATCH };
static const char *const f_wara[] = { R("NotoSansWarangCiti"), MATCH };
static const char *const f_wcho[] = { R("NotoSansWancho"), MATCH };
static const char *const f_xpeo[] = { R("NotoSansOldPersian"), MATCH };
static const char *const f_xsux[] = { R("NotoSansCuneiform"), MATCH };
static const char *const f_yezi[] = { R("NotoSerifYezidi"), MATCH };
static const char *const f_yiii[] = { R("NotoSansYi"), MATCH };
static const char *const f_zanb[] = { R("NotoSansZanabazarSquare"), MATCH };

const struct engrave_font_chain engrave_default_fonts[] = {
	{ "Latn", f_latin }, { "Grek", f_latin }, { "Cyrl", f_latin },
	{ "Hani:ja", f_hani_ja }, { "Hani:ko", f_hani_ko }, { "Hani:zh-TW", f_hani_tw },
	{ "Hani", f_hani }, { "Hira", f_jpan }, { "Kana", f_jpan }, { "Hang", f_kore },
	{ "Bopo", f_hani_tw }, { "Zsye", f_emoji },
	{ "Adlm", f_adlm }, { "Aghb", f_aghb }, { "Ahom", f_ahom }, { "Arab", f_arab }, { "Armi", f_armi },
	{ "Armn", f_armn }, { "Avst", f_avst }, { "Bali", f_bali }, { "Bamu", f_bamu }, { "Bass", f_bass },
	{ "Batk", f_batk }, { "Beng", f_beng }, { "Bhks", f_bhks }, { "Brah", f_brah }, { "Brai", f_brai },
	{ "Bugi", f_bugi }, { "Buhd", f_buhd }, { "Cakm", f_cakm }, { "Cans", f_cans }, { "Cari", f_cari },
	{ "Cham", f_cham }, { "Cher", f_cher }, { "Copt", f_copt }, { "Cprt", f_cprt }, { "Deva", f_deva },
	{ "Dogr", f_dogr }, { "Dsrt", f_dsrt }, { "Dupl", f_dupl }, { "Egyp", f_egyp }, { "Elba", f_elba },
	{ "Elym", f_elym }, { "Ethi", f_ethi }, { "Geor", f_geor }, { "Glag", f_glag }, { "Gong", f_gong },
	{ "Gonm", f_gonm }, { "Goth", f_goth }, { "Gran", f_gran }, { "Gujr", f_gujr }, { "Guru", f_guru },
	{ "Hano", f_hano }, { "Hatr", f_hatr }, { "Hebr", f_hebr }, { "Hluw", f_hluw }, { "Hmng", f_hmng },
	{ "Hmnp", f_hmnp }, { "Hung", f_hung }, { "Ital", f_ital }, { "Java", f_java }, { "Kali", f_kali },
	{ "Khar", f_khar }, { "Khmr", f_khmr }, { "Khoj", f_khoj }, { "Knda", f_knda }, { "Kthi", f_kthi },
	{ "Lana", f_lana }, { "Laoo", f_laoo }, { "Lepc", f_lepc }, { "Limb", f_limb }, { "Lina", f_lina },
	{ "Linb", f_linb }, { "Lisu", f_lisu }, { "Lyci", f_lyci }, { "Lydi", f_lydi }, { "Mahj", f_mahj },
	{ "Mand", f_mand }, { "Mani", f_mani }, { "Marc", f_marc }, { "Medf", f_medf }, { "Mend", f_mend },
	{ "Merc", f_merc }, { "Mero", f_merc }, { "Mlym", f_mlym }, { "Modi", f_modi }, { "Mong", f_mong }, { "Mroo", f_mroo },
	{ "Mtei", f_mtei }, { "Mult", f_mult }, { "Mymr", f_mymr }, { "Narb", f_narb }, { "Nbat", f_nbat },
	{ "Newa", f_newa }, { "Nkoo", f_nkoo }, { "Nshu", f_nshu }, { "Ogam", f_ogam }, { "Olck", f_olck },
	{ "Orkh", f_orkh }, { "Orya", f_orya }, { "Osge", f_osge }, { "Osma", f_osma }, { "Palm", f_palm },
	{ "Pauc", f_pauc }, { "Perm", f_perm }, { "Phag", f_phag }, { "Phli", f_phli }, { "Phlp", f_phlp },
	{ "Phnx", f_phnx }, { "Plrd", f_plrd }, { "Prti", f_prti }, { "Rjng", f_rjng }, { "Rohg", f_rohg },
	{ "Runr", f_runr }, { "Samr", f_samr }, { "Sarb", f_sarb }, { "Saur", f_saur }, { "Sgnw", f_sgnw },
	{ "Shaw", f_shaw }, { "Shrd", f_shrd }, { "Sidd", f_sidd }, { "Sind", f_sind }, { "Sinh", f_sinh },
	{ "Sogd", f_sogd }, { "Sogo", f_sogo }, { "Sora", f_sora }, { "Soyo", f_soyo }, { "Sund", f_sund },
	{ "Sylo", f_sylo }, { "Syrc", f_syrc }, { "Tagb", f_tagb }, { "Takr", f_takr }, { "Tale", f_tale },
	{ "Talu", f_talu }, { "Taml", f_taml }, { "Tang", f_tang }, { "Tavt", f_tavt }, { "Telu", f_telu },
	{ "Tfng", f_tfng }, { "Tglg", f_tglg }, { "Thaa", f_thaa }, { "Thai", f_thai }, { "Tibt", f_tibt },
	{ "Tirh", f_tirh }, { "Ugar", f_ugar }, { "Vaii", f_vaii }, { "Wara", f_wara }, { "Wcho", f_wcho },
	{ "Xpeo", f_xpeo }, { "Xsux", f_xsux }, { "Yezi", f_yezi }, { "Yiii", f_yiii }, { "Zanb", f_zanb },
	{ "*", f_any }, { NULL, NULL },
};
