"""What a listing's vocabulary adds to its search document: needs with their synonyms in English
and Spanish, languages named in English, in Spanish and in themselves, and service areas.

Clinicians search in the words a client uses, in either language: "depresión", "sad",
"alcoholismo", "spanish", "español". The vocabulary's rows carry one English name each, so
these lists add the other words, keyed by the stable slug or code (a need whose slug is not
here is still found by its own name). Pure: no model, no query.
"""

NEED_WORDS: dict[str, tuple[str, ...]] = {
    "depression": ("depressed", "sadness", "mood", "depresión", "deprimido", "tristeza"),
    "bipolar": ("manic depression", "mania", "bipolaridad", "trastorno bipolar", "manía"),
    "schizophrenia": ("psychosis", "esquizofrenia", "psicosis"),
    "anxiety": ("panic", "phobia", "worry", "ansiedad", "pánico", "fobia", "nervios"),
    "ocd": ("obsessive compulsive", "trastorno obsesivo compulsivo", "TOC"),
    "emotional-health": ("mental health", "mental illness", "salud mental", "emocional"),
    "co-occurring-substance-use": ("dual diagnosis", "diagnóstico dual", "patología dual"),
    "addiction": ("recovery", "substance use", "adicción", "adicciones", "recuperación"),
    "alcohol": ("alcoholism", "drinking", "alcoholismo", "alcohólicos", "bebida"),
    "narcotics": ("drugs", "opioids", "methamphetamine", "drogas", "narcóticos", "opioides"),
    "marijuana": ("cannabis", "marihuana"),
    "nicotine": ("smoking", "tobacco", "vaping", "fumar", "tabaco", "nicotina"),
    "sobriety-secular": ("secular", "non-religious", "sobriedad", "laico"),
    "gambling": ("betting", "juego", "apuestas", "ludopatía"),
    "eating": ("anorexia", "bulimia", "overeating", "trastornos alimentarios", "comida"),
    "sex-love-addiction": ("sexo", "amor", "adicción sexual"),
    "cluttering": ("hoarding", "acumulación", "desorden"),
    "debt": ("money", "deudas", "dinero"),
    "divorce": ("separation", "divorcio", "separación"),
    "co-dependency": ("codependency", "codependencia"),
    "adult-children-of-alcoholics": ("hijos adultos de alcohólicos",),
    "families-of-alcoholics": ("family", "familia", "familiares de alcohólicos"),
    "teens-of-alcoholics": ("adolescentes", "jóvenes", "youth"),
    "trauma-abuse-survivors": ("ptsd", "abuse", "violence", "trauma", "abuso", "violencia"),
    "incest": ("incesto", "abuso sexual"),
    "rape": ("sexual assault", "violación", "agresión sexual"),
    "bereavement": ("grief", "loss", "duelo", "pérdida", "luto"),
    "suicide-loss": ("suicide", "suicidio", "pérdida por suicidio"),
    "parenting": ("parents", "crianza", "padres", "madres"),
    "caregiving": ("caregivers", "cuidadores", "cuidado"),
    "physical-illness": ("chronic illness", "cancer", "enfermedad física", "enfermedad crónica"),
    "anger": ("rage", "ira", "enojo", "coraje"),
    "families-mental-illness": ("family", "familia", "familiares", "enfermedad mental"),
    "advocacy": ("rights", "defensa", "derechos"),
    "couples": ("marriage", "parejas", "matrimonio"),
    "creative-recovery": ("artists", "artistas", "creatividad"),
}

LANGUAGE_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("English", "inglés"),
    "es": ("Spanish", "español", "castellano"),
    "ar": ("Arabic", "árabe", "العربية"),
    "hy": ("Armenian", "armenio", "Հայերեն"),
    "km": ("Cambodian", "Khmer", "camboyano", "jemer"),
    "yue": ("Cantonese", "Chinese", "cantonés", "chino"),
    "fa": ("Farsi", "Persian", "persa"),
    "ko": ("Korean", "coreano", "한국어"),
    "cmn": ("Mandarin", "Chinese", "mandarín", "chino"),
    "zh": ("Chinese", "chino"),
    "ru": ("Russian", "ruso", "русский"),
    "tl": ("Tagalog", "Filipino", "tagalo"),
    "vi": ("Vietnamese", "vietnamita", "Tiếng Việt"),
}


def terms(
    *,
    needs: list[tuple[str, str]],
    languages: list[tuple[str, str]],
    areas: list[str],
) -> str:
    """The text a listing's vocabulary adds to its search document.

    ``needs`` and ``languages`` are (slug or code, name) pairs; ``areas`` are names. Each word
    appears once, in a stable order, so an unchanged listing gets an identical text.
    """
    words: list[str] = []
    for slug, name in sorted(needs):
        words += [name, *NEED_WORDS.get(slug, ())]
    for code, name in sorted(set(languages)):
        words += [name, *LANGUAGE_WORDS.get(code, ())]
    words += sorted(areas)
    seen, unique = set(), []
    for word in words:
        if word.casefold() not in seen:
            seen.add(word.casefold())
            unique.append(word)
    return " ".join(unique)
