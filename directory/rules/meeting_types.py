"""Meeting Guide meeting type codes (code4recovery spec, "Meeting Types").

The codes are the spec's reserved ones, so that a schedule entered here exchanges with the
Meeting Guide feed unchanged. Only codes listed here are accepted on a meeting; the spec asks
not to invent codes that could clash with future ones.
"""

import re

# Code -> English name, as the spec's table gives them (its data/types.json).
MEETING_TYPES: dict[str, str] = {
    "11": "11th Step Meditation",
    "12x12": "12 Steps & 12 Traditions",
    "A": "Secular",
    "ABSI": "As Bill Sees It",
    "AF": "Afrikaans",
    "AL": "Concurrent with Alateen",
    "AL-AN": "Concurrent with Al-Anon",
    "AM": "Amharic",
    "AR": "Arabic",
    "ASL": "American Sign Language",
    "B": "Big Book",
    "BA": "Babysitting Available",
    "BE": "Newcomer",
    "BG": "Bulgarian",
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
    "FI": "Finnish",
    "FR": "French",
    "G": "Gay",
    "GR": "Grapevine",
    "H": "Birthday",
    "HE": "Hebrew",
    "HI": "Hindi",
    "HR": "Croatian",
    "HU": "Hungarian",
    "IS": "Icelandic",
    "ITA": "Italian",
    "JA": "Japanese",
    "KA": "Georgian",
    "KOR": "Korean",
    "L": "Lesbian",
    "LGBTQ": "LGBTQ",
    "LIT": "Literature",
    "LS": "Living Sober",
    "LT": "Lithuanian",
    "M": "Men",
    "MED": "Meditation",
    "ML": "Malayalam",
    "MT": "Maltese",
    "N": "Native American",
    "NB": "Non-Binary",
    "NDG": "Indigenous",
    "NE": "Nepali",
    "NL": "Dutch",
    "NO": "Norwegian",
    "O": "Open",
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
    "SL": "Slovenian",
    "SM": "Smoking Permitted",
    "SP": "Speaker",
    "ST": "Step Study",
    "SV": "Swedish",
    "T": "Transgender",
    "TC": "Location Temporarily Closed",
    "TH": "Thai",
    "TL": "Tagalog",
    "TR": "Tradition Study",
    "TUR": "Turkish",
    "UK": "Ukrainian",
    "W": "Women",
    "X": "Wheelchair Access",
    "XB": "Wheelchair-Accessible Bathroom",
    "XT": "Cross Talk Permitted",
    "Y": "Young People",
}

# Code -> Spanish name, from the same file: the public directory's Spanish pages.
MEETING_TYPES_ES: dict[str, str] = {
    "11": "Meditación del Paso 11",
    "12x12": "12 Pasos y 12 Tradiciones",
    "A": "Secular",
    "ABSI": "Como lo ve Bill",
    "AF": "Afrikáans",
    "AL": "Concurrente con Alateen",
    "AL-AN": "Concurrente con Al-Anon",
    "AM": "Amárico",
    "AR": "Árabe",
    "ASL": "Lenguaje por señas",
    "B": "Libro Grande",
    "BA": "Guardería disponible",
    "BE": "Principiantes",
    "BG": "Búlgaro",
    "BI": "Bisexual",
    "BRK": "Desayuno",
    "C": "Cerrada",
    "CAN": "Luz de una vela",
    "CF": "Niño amigable",
    "D": "Discusión",
    "DA": "Danés",
    "DB": "Canasta digital",
    "DD": "Diagnóstico dual",
    "DE": "Alemán",
    "DR": "Reflexiones Diarias",
    "EL": "Griego",
    "EN": "Inglés",
    "FA": "Persa",
    "FF": "Sin fragancia",
    "FI": "Finlandés",
    "FR": "Francés",
    "G": "Gay",
    "GR": "La Viña",
    "H": "Cumpleaños",
    "HE": "Hebreo",
    "HI": "Hindi",
    "HR": "Croata",
    "HU": "Húngaro",
    "IS": "Islandés",
    "ITA": "Italiano",
    "JA": "Japonés",
    "KA": "Georgiano",
    "KOR": "Coreano",
    "L": "Lesbiana",
    "LGBTQ": "LGBTQ",
    "LIT": "Literatura",
    "LS": "Viviendo Sobrio",
    "LT": "Lituano",
    "M": "Hombres",
    "MED": "Meditación",
    "ML": "Malayalam",
    "MT": "Maltés",
    "N": "Nativo Americano",
    "NB": "No binario",
    "NDG": "Indígena",
    "NE": "Nepalí",
    "NL": "Holandés",
    "NO": "Noruego",
    "O": "Abierta",
    "OUT": "Al aire libre",
    "P": "Profesionales",
    "POA": "Prueba de Asistencia",
    "POC": "Gente de color",
    "POL": "Polaco",
    "POR": "Portugués",
    "PUN": "Punjabi",
    "RUS": "Ruso",
    "S": "Español",
    "SEN": "Personas mayores",
    "SK": "Eslovaco",
    "SL": "Esloveno",
    "SM": "Se permite fumar",
    "SP": "Orador",
    "ST": "Estudio de pasos",
    "SV": "Sueco",
    "T": "Transgénero",
    "TC": "Ubicación temporalmente cerrada",
    "TH": "Tailandés",
    "TL": "Tagalo",
    "TR": "Estudio de tradicion",
    "TUR": "Turco",
    "UK": "Ucraniano",
    "W": "Mujeres",
    "X": "Acceso en silla de ruedas",
    "XB": "Baño accesible para sillas de ruedas",
    "XT": "Se permite opinar",
    "Y": "Gente joven",
}

# Not in the spec's list: the Meeting Guide app and TSML UI mark online meetings with it.
# Kept apart so that the test comparing the list with the spec's file sees exactly the spec.
EXTENSIONS: dict[str, tuple[str, str]] = {"ONL": ("Online", "En línea")}
MEETING_TYPES.update({code: names[0] for code, names in EXTENSIONS.items()})
MEETING_TYPES_ES.update({code: names[1] for code, names in EXTENSIONS.items()})

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


def type_label(code: str, language: str = "en") -> str:
    """The code's name in English, or in Spanish for ``language`` "es"."""
    names = MEETING_TYPES_ES if language == "es" else MEETING_TYPES
    return names.get(code, code)
