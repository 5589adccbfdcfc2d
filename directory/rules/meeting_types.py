"""Meeting Guide meeting type codes (code4recovery spec, "Meeting Types").

The codes are the spec's reserved ones, so that a schedule entered here exchanges with the
Meeting Guide feed unchanged. Only codes listed here are accepted on a meeting; the spec asks
not to invent codes that could clash with future ones.
"""

import re

# Code -> English name, as the spec's table gives them.
MEETING_TYPES: dict[str, str] = {
    "11": "11th Step Meditation",
    "12x12": "12 Steps & 12 Traditions",
    "A": "Secular",
    "ABSI": "As Bill Sees It",
    "AL": "Concurrent with Alateen",
    "AL-AN": "Concurrent with Al-Anon",
    "AM": "Amharic",
    "ASL": "American Sign Language",
    "B": "Big Book",
    "BA": "Babysitting Available",
    "BE": "Newcomer",
    "BI": "Bisexual",
    "BRK": "Breakfast",
    "C": "Closed",
    "CAN": "Candlelight",
    "CF": "Child-Friendly",
    "D": "Discussion",
    "DA": "Danish",
    "DB": "Digital Basket",
    "DD": "Dual Diagnosis",
    "DE": "German",
    "DR": "Daily Reflections",
    "EL": "Greek",
    "EN": "English",
    "FA": "Persian",
    "FF": "Fragrance Free",
    "FR": "French",
    "G": "Gay",
    "GR": "Grapevine",
    "H": "Birthday",
    "HE": "Hebrew",
    "HI": "Hindi",
    "HR": "Croatian",
    "HU": "Hungarian",
    "ITA": "Italian",
    "JA": "Japanese",
    "KOR": "Korean",
    "L": "Lesbian",
    "LGBTQ": "LGBTQ",
    "LIT": "Literature",
    "LS": "Living Sober",
    "LT": "Lithuanian",
    "M": "Men",
    "MED": "Meditation",
    "ML": "Malayalam",
    "N": "Native American",
    "NB": "Non-Binary",
    "NDG": "Indigenous",
    "NO": "Norwegian",
    "O": "Open",
    # Not in the spec's table: the Meeting Guide app and TSML UI mark online meetings with it.
    "ONL": "Online",
    "OUT": "Outdoor",
    "P": "Professionals",
    "POA": "Proof of Attendance",
    "POC": "People of Color",
    "POL": "Polish",
    "POR": "Portuguese",
    "PUN": "Punjabi",
    "RUS": "Russian",
    "S": "Spanish",
    "SEN": "Seniors",
    "SK": "Slovak",
    "SM": "Smoking Permitted",
    "SP": "Speaker",
    "ST": "Step Study",
    "SV": "Swedish",
    "T": "Transgender",
    "TC": "Location Temporarily Closed",
    "TH": "Thai",
    "TL": "Tagalog",
    "TR": "Tradition Study",
    "UK": "Ukrainian",
    "W": "Women",
    "X": "Wheelchair Access",
    "XB": "Wheelchair-Accessible Bathroom",
    "XT": "Cross Talk Permitted",
    "Y": "Young People",
}

# Codes are matched without regard to case ("be" is BE), but "12x12" keeps its small x.
_BY_UPPER = {code.upper(): code for code in MEETING_TYPES}


class UnknownTypeCodes(ValueError):
    def __init__(self, codes: list[str]):
        self.codes = codes
        super().__init__(", ".join(codes))


def parse_type_codes(text: str) -> list[str]:
    """Codes from text such as "O, BE x" -> ["O", "BE", "X"]; unknown codes raise, all named.

    Separators are commas, semicolons or spaces. Duplicates are dropped, order kept.
    """
    codes: list[str] = []
    unknown: list[str] = []
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        code = _BY_UPPER.get(token.upper())
        if code is None:
            if token not in unknown:
                unknown.append(token)
        elif code not in codes:
            codes.append(code)
    if unknown:
        raise UnknownTypeCodes(unknown)
    return codes


def type_label(code: str) -> str:
    return MEETING_TYPES.get(code, code)
