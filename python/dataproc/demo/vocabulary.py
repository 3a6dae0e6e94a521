"""The demo lake's tag vocabulary: canonical danbooru tags by category, and foreign names.

Canonical tags follow danbooru (lowercase, `_` for spaces). Pixiv tags are mostly Japanese and
zerochan tags are Title Case with spaces; many of those foreign names do not become the canonical
tag by lowercasing and replacing spaces, which is what `seeds/tag_aliases.csv` is for.

Each table row is (canonical tag, pixiv names, pixiv translated name, zerochan name). For general
tags an empty pixiv tuple means pixiv carries the English words (`long hair`); for artists and meta
tags it means pixiv never carries the tag (a pixiv work's artist is its user). `None` for the
zerochan name means zerochan never carries the tag; `""` means the Title Case of the canonical tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GENERAL = "general"
CHARACTER = "character"
COPYRIGHT = "copyright"
ARTIST = "artist"
META = "meta"
CATEGORIES = (GENERAL, CHARACTER, COPYRIGHT, ARTIST, META)

# Count tags come in realistic combinations; a picture draws one combination.
COUNT_COMBOS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("1girl", "solo"), 0.46),
    (("1boy", "solo"), 0.08),
    (("1girl",), 0.05),
    (("2girls", "multiple_girls"), 0.11),
    (("3girls", "multiple_girls"), 0.03),
    (("1girl", "1boy"), 0.09),
    (("2boys", "multiple_boys"), 0.03),
    (("multiple_girls", "multiple_boys"), 0.02),
    (("no_humans",), 0.07),
    ((), 0.06),
)

# (tag, pixiv names, pixiv translated name, zerochan name)
_COUNT_TAGS: tuple[tuple[str, tuple[str, ...], str | None, str | None], ...] = (
    ("1girl", ("女の子",), "girl", "Female"),
    ("2girls", (), None, None),
    ("3girls", (), None, None),
    ("multiple_girls", (), None, "Multiple Girls"),
    ("1boy", ("男の子",), "boy", "Male"),
    ("2boys", (), None, None),
    ("multiple_boys", (), None, "Multiple Boys"),
    ("solo", (), None, "Solo"),
    ("no_humans", (), None, "No People"),
)

_KAOMOJI = ("^_^", ">_<", "o_o", "x_x", "=_=", "@_@")

# General tags in rough popularity order (earlier = more frequent).
_GENERAL_TAGS: tuple[tuple[str, tuple[str, ...], str | None, str | None], ...] = (
    ("long_hair", ("ロングヘア",), "long hair", ""),
    ("looking_at_viewer", (), None, ""),
    ("smile", ("笑顔",), "smile", ""),
    ("blush", (), None, ""),
    ("short_hair", ("ショートヘア",), "short hair", ""),
    ("open_mouth", (), None, ""),
    ("bangs", (), None, ""),
    ("blue_eyes", ("碧眼",), "blue eyes", ""),
    ("skirt", ("スカート",), "skirt", ""),
    ("simple_background", (), None, ""),
    ("shirt", (), None, ""),
    ("long_sleeves", (), None, ""),
    ("red_eyes", ("赤目",), "red eyes", ""),
    ("brown_hair", ("茶髪",), "brown hair", ""),
    ("hair_ornament", (), None, ""),
    ("white_background", (), None, ""),
    ("black_hair", ("黒髪",), "black hair", ""),
    ("blonde_hair", ("金髪",), "blonde hair", "Blonde Hair"),
    ("thighhighs", ("ニーハイ",), "thighhighs", "Thigh Highs"),
    ("gloves", ("手袋",), "gloves", ""),
    ("dress", ("ドレス",), "dress", ""),
    ("closed_mouth", (), None, ""),
    ("bow", (), None, ""),
    ("upper_body", (), None, ""),
    ("hat", ("帽子",), "hat", ""),
    ("ribbon", ("リボン",), "ribbon", ""),
    ("holding", (), None, ""),
    ("jewelry", (), None, ""),
    ("animal_ears", ("獣耳",), "animal ears", ""),
    ("twintails", ("ツインテール",), "twintails", "Twin Tails"),
    ("school_uniform", ("制服",), "school uniform", ""),
    ("cleavage", (), None, ""),
    ("bare_shoulders", (), None, ""),
    ("navel", (), None, ""),
    ("collarbone", (), None, ""),
    ("large_breasts", ("巨乳",), "large breasts", ""),
    ("medium_breasts", (), None, ""),
    ("small_breasts", ("貧乳",), "small breasts", ""),
    ("hair_between_eyes", (), None, ""),
    ("closed_eyes", (), None, ""),
    ("one_eye_closed", ("ウインク",), "wink", ""),
    ("ponytail", ("ポニーテール",), "ponytail", "Ponytail"),
    ("braid", ("三つ編み",), "braid", ""),
    ("ahoge", ("アホ毛",), "ahoge", ""),
    ("white_hair", ("白髪",), "white hair", ""),
    ("silver_hair", ("銀髪",), "silver hair", ""),
    ("pink_hair", ("ピンク髪",), "pink hair", ""),
    ("purple_hair", (), None, ""),
    ("green_hair", (), None, ""),
    ("blue_hair", ("青髪",), "blue hair", ""),
    ("red_hair", (), None, ""),
    ("yellow_eyes", (), None, ""),
    ("green_eyes", (), None, ""),
    ("purple_eyes", (), None, ""),
    ("brown_eyes", (), None, ""),
    ("hair_ribbon", (), None, ""),
    ("hair_bow", (), None, ""),
    ("hairband", (), None, ""),
    ("cat_ears", ("猫耳",), "cat ears", ""),
    ("fox_ears", ("狐耳",), "fox ears", ""),
    ("tail", ("尻尾",), "tail", ""),
    ("wings", ("翼",), "wings", ""),
    ("horns", ("角",), "horns", ""),
    ("halo", ("天使の輪",), "halo", ""),
    ("sailor_collar", (), None, ""),
    ("serafuku", ("セーラー服",), "serafuku", "Sailor Uniform"),
    ("swimsuit", ("水着",), "swimsuit", ""),
    ("bikini", ("ビキニ",), "bikini", ""),
    ("kimono", ("着物",), "kimono", ""),
    ("maid", ("メイド",), "maid", ""),
    ("maid_headdress", (), None, ""),
    ("apron", (), None, ""),
    ("jacket", (), None, ""),
    ("coat", (), None, ""),
    ("hood", (), None, ""),
    ("witch_hat", (), None, ""),
    ("necktie", (), None, ""),
    ("pleated_skirt", (), None, ""),
    ("pantyhose", (), None, ""),
    ("boots", (), None, ""),
    ("sleeveless", (), None, ""),
    ("detached_sleeves", (), None, ""),
    ("earrings", (), None, ""),
    ("necklace", (), None, ""),
    ("glasses", ("眼鏡",), "glasses", ""),
    ("holding_weapon", (), None, ""),
    ("weapon", ("武器",), "weapon", ""),
    ("sword", ("剣",), "sword", ""),
    ("gun", ("銃",), "gun", ""),
    ("bow_(weapon)", ("弓",), "bow (weapon)", ""),
    ("staff", (), None, ""),
    ("flower", ("花",), "flower", ""),
    ("rose", ("薔薇",), "rose", ""),
    ("cherry_blossoms", ("桜",), "cherry blossoms", ""),
    ("outdoors", (), None, ""),
    ("indoors", (), None, ""),
    ("sky", ("空",), "sky", ""),
    ("cloud", ("雲",), "cloud", "Clouds"),
    ("day", (), None, ""),
    ("night", ("夜",), "night", ""),
    ("night_sky", ("夜空",), "night sky", ""),
    ("star_(sky)", ("星空",), "star (sky)", "Starry Sky"),
    ("star_(symbol)", (), None, ""),
    ("moon", ("月",), "moon", ""),
    ("water", ("水",), "water", ""),
    ("ocean", ("海",), "ocean", "Sea"),
    ("beach", ("砂浜",), "beach", ""),
    ("snow", ("雪",), "snow", ""),
    ("rain", ("雨",), "rain", ""),
    ("tree", ("木",), "tree", ""),
    ("scenery", ("風景",), "landscape", ""),
    ("transparent_background", ("透過",), "transparent background", ""),
    ("full_body", ("全身",), "full body", ""),
    ("cowboy_shot", (), None, ""),
    ("portrait", (), None, ""),
    ("standing", (), None, ""),
    ("sitting", (), None, ""),
    ("lying", (), None, ""),
    ("from_behind", (), None, ""),
    ("from_side", (), None, ""),
    ("hand_up", (), None, ""),
    ("arms_up", (), None, ""),
    ("v", ("ピース",), "V sign", "Peace Sign"),
    ("food", ("食べ物",), "food", ""),
    ("cake", ("ケーキ",), "cake", ""),
    ("cup", (), None, ""),
    ("book", ("本",), "book", ""),
    ("umbrella", ("傘",), "umbrella", ""),
    ("cat", ("猫",), "cat", ""),
    ("dog", ("犬",), "dog", ""),
    ("bird", ("鳥",), "bird", ""),
    ("fire", ("炎",), "fire", ""),
    ("heart", ("ハート",), "heart", ""),
    ("tears", ("涙",), "tears", ""),
    ("sweat", (), None, ""),
    ("fang", ("八重歯",), "fang", ""),
    ("headphones", ("ヘッドフォン",), "headphones", ""),
    ("thigh_boots", (), None, ""),
    ("frills", (), None, ""),
    ("lace", (), None, ""),
    ("sash", (), None, ""),
    ("cape", (), None, ""),
    ("armor", ("鎧",), "armor", ""),
    ("fingerless_gloves", (), None, ""),
    ("dutch_angle", (), None, ""),
    ("depth_of_field", (), None, ""),
    ("chibi", ("ちびキャラ",), "chibi", ""),
    ("monochrome", ("モノクロ",), "monochrome", ""),
    ("greyscale", (), None, ""),
    ("sketch", ("落書き",), "doodle", "Sketch"),
)

# (copyright, pixiv names, pixiv translated name, zerochan name)
_COPYRIGHTS: tuple[tuple[str, tuple[str, ...], str | None, str | None], ...] = (
    ("original", ("オリジナル",), "original", "Original"),
    ("touhou", ("東方Project", "東方"), "Touhou Project", "Touhou"),
    ("vocaloid", ("VOCALOID",), None, "Vocaloid"),
    ("kantai_collection", ("艦これ", "艦隊これくしょん"), "Kantai Collection", ""),
    ("fate/grand_order", ("Fate/GrandOrder", "FGO"), "Fate/Grand Order", ""),
    ("fate/stay_night", ("Fate/staynight",), "Fate/stay night", "Fate/stay night"),
    ("idolmaster", ("アイドルマスター",), "iDOLM@STER", "THE iDOLM@STER"),
    ("pokemon", ("ポケモン", "ポケットモンスター"), "Pokemon", "Pokémon"),
    ("genshin_impact", ("原神",), "Genshin Impact", ""),
    ("blue_archive", ("ブルーアーカイブ", "ブルアカ"), "Blue Archive", ""),
    ("hololive", ("ホロライブ",), "hololive", "Hololive"),
    ("azur_lane", ("アズールレーン",), "Azur Lane", ""),
    ("arknights", ("アークナイツ",), "Arknights", ""),
    ("umamusume", ("ウマ娘プリティーダービー", "ウマ娘"), "Uma Musume", "Uma Musume Pretty Derby"),
    ("love_live!", ("ラブライブ!",), "Love Live!", "Love Live!"),
    ("girls_und_panzer", ("ガールズ&パンツァー",), "Girls und Panzer", ""),
)

# (character, copyright, pixiv name, zerochan name)
_CHARACTERS: tuple[tuple[str, str, str, str], ...] = (
    ("hakurei_reimu", "touhou", "博麗霊夢", "Hakurei Reimu"),
    ("kirisame_marisa", "touhou", "霧雨魔理沙", "Kirisame Marisa"),
    ("izayoi_sakuya", "touhou", "十六夜咲夜", "Izayoi Sakuya"),
    ("remilia_scarlet", "touhou", "レミリア・スカーレット", "Remilia Scarlet"),
    ("flandre_scarlet", "touhou", "フランドール・スカーレット", "Flandre Scarlet"),
    ("cirno", "touhou", "チルノ", "Cirno"),
    ("konpaku_youmu", "touhou", "魂魄妖夢", "Konpaku Youmu"),
    ("hatsune_miku", "vocaloid", "初音ミク", "Hatsune Miku"),
    ("kagamine_rin", "vocaloid", "鏡音リン", "Kagamine Rin"),
    ("kagamine_len", "vocaloid", "鏡音レン", "Kagamine Len"),
    ("megurine_luka", "vocaloid", "巡音ルカ", "Megurine Luka"),
    (
        "shimakaze_(kancolle)",
        "kantai_collection",
        "島風(艦隊これくしょん)",
        "Shimakaze (Kantai Collection)",
    ),
    (
        "kongou_(kancolle)",
        "kantai_collection",
        "金剛(艦隊これくしょん)",
        "Kongou (Kantai Collection)",
    ),
    (
        "hibiki_(kancolle)",
        "kantai_collection",
        "響(艦隊これくしょん)",
        "Hibiki (Kantai Collection)",
    ),
    ("mash_kyrielight", "fate/grand_order", "マシュ・キリエライト", "Mash Kyrielight"),
    (
        "jeanne_d'arc_alter_(fate)",
        "fate/grand_order",
        "ジャンヌ・ダルク・オルタ",
        "Jeanne d'Arc Alter",
    ),
    ("ishtar_(fate)", "fate/grand_order", "イシュタル(Fate)", "Ishtar (Fate/Grand Order)"),
    ("saber_(fate)", "fate/stay_night", "セイバー", "Saber (Fate/stay night)"),
    ("tohsaka_rin", "fate/stay_night", "遠坂凛", "Tohsaka Rin"),
    ("matou_sakura", "fate/stay_night", "間桐桜", "Matou Sakura"),
    ("shimamura_uzuki", "idolmaster", "島村卯月", "Shimamura Uzuki"),
    ("amami_haruka", "idolmaster", "天海春香", "Amami Haruka"),
    ("pikachu", "pokemon", "ピカチュウ", "Pikachu"),
    ("serena_(pokemon)", "pokemon", "セレナ(ポケモン)", "Serena (Pokémon)"),
    ("lillie_(pokemon)", "pokemon", "リーリエ", "Lillie (Pokémon)"),
    ("raiden_shogun", "genshin_impact", "雷電将軍", "Raiden Shogun"),
    ("hu_tao_(genshin_impact)", "genshin_impact", "胡桃(原神)", "Hu Tao"),
    ("lumine_(genshin_impact)", "genshin_impact", "蛍(原神)", "Lumine"),
    ("shiroko_(blue_archive)", "blue_archive", "砂狼シロコ", "Shiroko (Blue Archive)"),
    ("hoshino_(blue_archive)", "blue_archive", "小鳥遊ホシノ", "Hoshino (Blue Archive)"),
    ("yuuka_(blue_archive)", "blue_archive", "早瀬ユウカ", "Yuuka (Blue Archive)"),
    ("gawr_gura", "hololive", "がうる・ぐら", "Gawr Gura"),
    ("houshou_marine", "hololive", "宝鐘マリン", "Houshou Marine"),
    ("usada_pekora", "hololive", "兎田ぺこら", "Usada Pekora"),
    ("belfast_(azur_lane)", "azur_lane", "ベルファスト(アズールレーン)", "Belfast (Azur Lane)"),
    ("amiya_(arknights)", "arknights", "アーミヤ", "Amiya (Arknights)"),
    ("texas_(arknights)", "arknights", "テキサス(アークナイツ)", "Texas (Arknights)"),
    (
        "special_week_(umamusume)",
        "umamusume",
        "スペシャルウィーク(ウマ娘)",
        "Special Week (Uma Musume)",
    ),
    ("kousaka_honoka", "love_live!", "高坂穂乃果", "Kousaka Honoka"),
    ("nishizumi_miho", "girls_und_panzer", "西住みほ", "Nishizumi Miho"),
)

# (artist tag, pixiv display name, pixiv account)
_ARTISTS: tuple[tuple[str, str, str], ...] = (
    ("ame_nochi", "あめのち", "amenochi"),
    ("hoshizora_kaede", "星空かえで", "hoshizora_k"),
    ("tsukimi_dango", "月見だんご", "tsukimidango"),
    ("kuroneko_works", "くろねこ", "kuroneko_w"),
    ("shiratama_mochi", "白玉もち", "shiratama"),
    ("aoi_sora_(artist)", "青井そら", "aoisora"),
    ("mikan_(mikan_box)", "みかん", "mikanbox"),
    ("kazane_ryou", "風音りょう", "kazaneryou"),
    ("natsume_yuki", "夏目ゆき", "natsume_y"),
    ("hinata_hiyori", "ひなたひより", "hinatahiyori"),
    ("momose_nana", "百瀬なな", "momosenana"),
    ("sakuragi_ren", "桜木レン", "sakuragiren"),
    ("minazuki_sou", "水無月そう", "minazuki"),
    ("kiriyama_taichi", "桐山太一", "kiriyama_t"),
    ("ponpoko_(ponpoko_ya)", "ぽんぽこ", "ponpokoya"),
    ("yuzuki_mio", "柚月みお", "yuzukimio"),
    ("akatsuki_hajime", "暁はじめ", "akatsukih"),
    ("shino_(shinorio)", "しの", "shinorio"),
    ("tamago_sando", "たまごサンド", "tamagosando"),
    ("fujisaki_nao", "藤崎なお", "fujisakinao"),
    ("rokuro_kubi", "ろくろ", "rokuro"),
    ("nekoyashiki_pan", "猫屋敷ぱん", "nekopan"),
    ("umino_kurage", "海野くらげ", "uminokurage"),
    ("kashiwagi_mai", "柏木まい", "kashiwagimai"),
    ("ohagi_(food_artist)", "おはぎ", "ohagi_food"),
    ("sumire_iro", "すみれ色", "sumireiro"),
    ("takanashi_itsuki", "小鳥遊いつき", "takanashi_i"),
    ("houjou_kei", "北条けい", "houjoukei"),
    ("kamome_sky", "かもめ", "kamomesky"),
    ("ginga_tetsudou", "銀河てつどう", "gingatetsu"),
    ("amagi_rio", "天城りお", "amagirio"),
    ("kotatsu_mikan", "こたつみかん", "kotatsumikan"),
    ("hiiragi_tsubasa", "柊つばさ", "hiiragi_t"),
    ("mochizuki_kei", "望月けい", "mochizukik"),
    ("lemon_sour_(artist)", "レモンサワー", "lemonsour"),
    ("asagiri_haru", "朝霧はる", "asagiriharu"),
    ("kurosawa_ai", "黒沢あい", "kurosawaai"),
    ("yamabuki_nagi", "山吹なぎ", "yamabukinagi"),
    ("wataame_cloud", "わたあめ", "wataame"),
    ("sora_no_ao", "そらのあお", "soranoao"),
    ("hanabi_ya", "花火屋", "hanabiya"),
    ("shirokuma_cafe_(artist)", "しろくま", "shirokumacafe"),
    ("ikura_don", "いくら丼", "ikuradon"),
    ("kaguya_hime_(artist)", "かぐや", "kaguyahime"),
    ("tanuki_koubou", "たぬき工房", "tanukikoubou"),
    ("sazanami_rei", "さざなみ玲", "sazanamirei"),
    ("midori_no_kaze", "みどりのかぜ", "midorikaze"),
    ("kirara_star", "きらら", "kirarastar"),
    ("usagi_ringo", "うさぎりんご", "usagiringo"),
    ("tokimeki_pen", "ときめきペン", "tokimekipen"),
    ("nanashi_no_gonbei", "ななし", "nanashigonbei"),
    ("oborozuki_yoru", "朧月夜", "oborozuki"),
    ("hakka_ame", "はっか飴", "hakkaame"),
    ("komorebi_(artist)", "こもれび", "komorebi_art"),
    ("mizutama_drop", "みずたま", "mizutamadrop"),
    ("yorunohi", "夜の灯", "yorunohi"),
    ("chocomint_(artist)", "チョコミント", "chocomint"),
    ("sakana_tomato", "さかなトマト", "sakanatomato"),
    ("inari_sushi", "いなり寿司", "inarisushi"),
    ("kitsune_bi", "狐火", "kitsunebi"),
)

# (meta tag, pixiv names, pixiv translated name): pixiv carries only the AI marker.
_META_TAGS: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("highres", (), None),
    ("absurdres", (), None),
    ("lowres", (), None),
    ("commentary_request", (), None),
    ("commentary", (), None),
    ("translated", (), None),
    ("translation_request", (), None),
    ("bad_id", (), None),
    ("bad_pixiv_id", (), None),
    ("official_art", (), None),
    ("artist_request", (), None),
    ("animated", (), None),
    ("video", (), None),
    ("ugoira", (), None),
    ("ai-generated", ("AIイラスト", "AI生成"), "AI-generated"),
)

_WHITESPACE = re.compile(r"\s+")


def normalize_tag(text: str) -> str:
    """Staging's normalization: lowercase, trimmed, runs of whitespace become `_`."""
    return _WHITESPACE.sub("_", text.strip().lower())


def title_case(tag: str) -> str:
    """Zerochan's style for a canonical tag: spaces, Title Case (`long_hair` -> `Long Hair`)."""
    return tag.replace("_", " ").title()


@dataclass(frozen=True)
class Tag:
    """One canonical tag and the names other sites use for it."""

    name: str
    category: str
    weight: float
    pixiv_names: tuple[str, ...]
    pixiv_translated: str | None
    zerochan_name: str | None
    copyright: str | None = None


@dataclass(frozen=True)
class Artist:
    """An artist: the danbooru tag and the pixiv account that posts the originals."""

    tag: str
    pixiv_name: str
    pixiv_account: str


@dataclass(frozen=True)
class Vocabulary:
    """All canonical tags, sorted by name, so that a tag's id orders like danbooru's tag_string."""

    tags: tuple[Tag, ...]
    artists: tuple[Artist, ...]
    count_combos: tuple[tuple[tuple[str, ...], float], ...]

    def index(self) -> dict[str, int]:
        """Tag name -> tag id (its position in `tags`)."""
        return {tag.name: i for i, tag in enumerate(self.tags)}

    def by_category(self, category: str) -> list[int]:
        """Tag ids of one category, in id order."""
        return [i for i, tag in enumerate(self.tags) if tag.category == category]


def _spaced(name: str) -> tuple[str, ...]:
    """Pixiv's fallback for a tag with no Japanese name: the English words, space separated."""
    return (name.replace("_", " "),)


def _general_tags() -> list[Tag]:
    tags = [
        Tag(name, GENERAL, 0.0, pixiv or _spaced(name), translated, zerochan)
        for name, pixiv, translated, zerochan in _COUNT_TAGS
    ]
    tags += [Tag(k, GENERAL, 0.004, (k,), None, None) for k in _KAOMOJI]
    for rank, (name, pixiv, translated, zerochan) in enumerate(_GENERAL_TAGS):
        zname = title_case(name) if zerochan == "" else zerochan
        tags.append(Tag(name, GENERAL, 1.0 / (rank + 6), pixiv or _spaced(name), translated, zname))
    return tags


def _copyright_tags() -> list[Tag]:
    tags = []
    for rank, (name, pixiv, translated, zerochan) in enumerate(_COPYRIGHTS):
        zname = title_case(name) if zerochan == "" else zerochan
        tags.append(Tag(name, COPYRIGHT, 1.0 / (rank + 2), pixiv, translated, zname))
    return tags


def _character_tags() -> list[Tag]:
    return [
        Tag(name, CHARACTER, 1.0 / (rank + 4), (pixiv,), title_case(name), zerochan, copyright)
        for rank, (name, copyright, pixiv, zerochan) in enumerate(_CHARACTERS)
    ]


def _artist_tags() -> list[Tag]:
    return [
        Tag(name, ARTIST, 1.0 / (rank + 3), (), None, title_case(name))
        for rank, (name, _, _) in enumerate(_ARTISTS)
    ]


def _meta_tags() -> list[Tag]:
    return [Tag(name, META, 1.0, pixiv, tr, None) for name, pixiv, tr in _META_TAGS]


def build_vocabulary() -> Vocabulary:
    """The demo vocabulary; tags sorted by name (danbooru sorts tag_string alphabetically)."""
    tags = _general_tags() + _copyright_tags() + _character_tags() + _artist_tags() + _meta_tags()
    names = [tag.name for tag in tags]
    if len(set(names)) != len(names):
        raise ValueError("duplicate canonical tag in the demo vocabulary")
    artists = tuple(Artist(name, pixiv_name, account) for name, pixiv_name, account in _ARTISTS)
    return Vocabulary(
        tags=tuple(sorted(tags, key=lambda t: t.name)),
        artists=artists,
        count_combos=COUNT_COMBOS,
    )
